"""deploy/nginx/kefu.conf, checked statically (and by `nginx -t` where nginx is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kefu.web.chat.connection import IDLE_TIMEOUT_SECONDS
from tests.deploy.facts import NGINX_CONF, body_limit, path_of, websocket_paths

CONF = NGINX_CONF.read_text()
# Sockets live for hours: nginx must not close one that is merely quiet between pings.
MIN_SOCKET_TIMEOUT_SECONDS = 3600


def block(opening: str) -> str:
    """The body of the block that starts with `opening` (e.g. "location = /chat/ws")."""
    start = CONF.index(opening)
    depth, i = 0, CONF.index("{", start)
    for j in range(i, len(CONF)):
        depth += {"{": 1, "}": -1}.get(CONF[j], 0)
        if depth == 0:
            return CONF[i + 1 : j]
    raise AssertionError(f"unclosed block {opening}")


def directives(text: str, name: str) -> list[str]:
    """Values of `name` directives in `text`, comments ignored."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return [m.group(1).strip() for m in re.finditer(rf"(?m)^\s*{name}\s+([^;]*);", code)]


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_the_upstream_is_sticky_free() -> None:
    upstream = block("upstream kefu_nodes")
    for directive in ("ip_hash", "hash", "sticky"):
        assert not directives(upstream, directive), directive
    assert len(directives(upstream, "server")) >= 2
    assert "sticky" not in "\n".join(line.split("#", 1)[0] for line in CONF.splitlines())


@pytest.mark.parametrize("path", websocket_paths())
def test_websocket_locations_upgrade_and_stay_open(path: str) -> None:
    location = block(f"location = {path} ")
    assert directives(location, "proxy_pass") == ["http://kefu_nodes"]
    assert directives(location, "proxy_http_version") == ["1.1"]
    headers = directives(location, "proxy_set_header")
    assert "Upgrade $http_upgrade" in headers
    assert "Connection $kefu_connection" in headers
    # A location with its own proxy_set_header inherits none: forwarding headers must be repeated.
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in headers
    assert "X-Forwarded-Proto $scheme" in headers
    assert "Host $host" in headers
    for timeout in ("proxy_read_timeout", "proxy_send_timeout"):
        (value,) = directives(location, timeout)
        assert seconds(value) >= MIN_SOCKET_TIMEOUT_SECONDS > IDLE_TIMEOUT_SECONDS


def test_the_connection_header_map_upgrades_only_handshakes() -> None:
    mapping = block("map $http_upgrade $kefu_connection")
    assert re.search(r"default\s+upgrade;", mapping)
    assert re.search(r'""\s+"";', mapping)


def test_body_size_admits_kefus_largest_body() -> None:
    (value,) = directives(block("server {\n    listen 443"), "client_max_body_size")
    assert size_bytes(value) >= body_limit()


def test_health_and_metrics_are_not_public() -> None:
    assert directives(block(f"location = {path_of('readyz')} "), "deny") == ["all"]
    assert directives(block("location = /metrics "), "return") == ["404"]


def test_forwarded_headers_reach_every_location() -> None:
    server = block("server {\n    listen 443")
    headers = directives(server, "proxy_set_header")
    assert "X-Forwarded-Proto $scheme" in headers
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in headers


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    config = CONF.replace("/etc/ssl/kefu/fullchain.pem", str(tmp_path / "cert.pem")).replace(
        "/etc/ssl/kefu/privkey.pem", str(tmp_path / "key.pem")
    )
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=support.example.com"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-days", "1"),
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "kefu.conf").write_text(config)
    main = f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
    main += f"http {{\n    access_log off;\n    include {tmp_path}/kefu.conf;\n}}\n"
    (tmp_path / "nginx.conf").write_text(main)
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
