"""The Dockerfile and .dockerignore, checked statically: the image is never built or pulled in tests."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.deploy.facts import DOCKERFILE, DOCKERIGNORE, KEFU_UID, ROOT, parse_command, path_of

TEXT = DOCKERFILE.read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in TEXT.splitlines() if not line.lstrip().startswith("#"))
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def values(keyword: str) -> list[str]:
    return [rest for kw, rest in instructions() if kw == keyword]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (kw, _) in enumerate(steps) if kw == "FROM")
    return steps[last_from:]


def test_base_images_are_pinned() -> None:
    images = [shlex.split(rest)[0] for rest in values("FROM")]
    assert images
    for image in images:
        _name, _, tag = image.partition("@")[0].partition(":")
        assert "@sha256:" in image or re.fullmatch(r"\d+\.\d+\.\d+[-\w.]*", tag), image
        assert tag != "latest", image


def test_dependencies_come_only_from_the_hashed_lock_file() -> None:
    installs = [rest for rest in values("RUN") if "pip install" in rest]
    assert installs
    for command in installs:
        assert "--require-hashes" in command
        assert "requirements.lock" in command
    assert (ROOT / "requirements.lock").exists()
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()


def test_nothing_is_fetched_by_add() -> None:
    for rest in values("ADD"):
        assert not re.search(r"(https?|git)://|git@", rest), rest


def test_the_image_runs_as_the_unprivileged_user() -> None:
    users = [rest for kw, rest in final_stage() if kw == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert int(user) == KEFU_UID


def test_ports_healthcheck_and_default_command() -> None:
    exposed = {int(port.split("/")[0]) for rest in values("EXPOSE") for port in rest.split()}
    assert exposed == {8000, 2525}
    (healthcheck,) = values("HEALTHCHECK")
    assert "NONE" not in healthcheck.upper().split()
    assert f":8000{path_of('healthz')}" in healthcheck
    (entrypoint,) = values("ENTRYPOINT")
    assert json.loads(entrypoint) == ["kefu"]
    (cmd,) = values("CMD")
    params = parse_command(json.loads(cmd))
    assert params["port"] == 8000
    assert params["host"] == "0.0.0.0"  # noqa: S104 - inside the container


def test_migrations_ship_next_to_the_package() -> None:
    # `kefu migrate` looks for migrations/ beside the kefu package (kefu.db.migrate.MIGRATIONS_DIR).
    copies = " ".join(values("COPY"))
    assert "kefu /app/kefu" in copies
    assert "migrations /app/migrations" in copies
    assert "PYTHONPATH=/app" in " ".join(values("ENV"))


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    assert {".env", ".git/", ".venv/", "var/", "*.db"} <= ignored
    for needed in ("requirements.lock", "kefu/", "migrations/", "pyproject.toml"):
        assert needed.rstrip("/") not in {entry.rstrip("/") for entry in ignored}


def test_the_images_kefu_launcher_runs_the_cli(tmp_path: Path) -> None:
    # The image has no wheel install: a small script imports the CLI from the source tree on PYTHONPATH.
    (run,) = [rest for rest in values("RUN") if "/opt/kefu/bin/kefu" in rest and "printf" in rest]
    script = re.search(r"printf '([^']*)' > /opt/kefu/bin/kefu", run)
    assert script is not None
    launcher = tmp_path / "kefu"
    launcher.write_text(script.group(1).replace("\\n", "\n"))
    assert launcher.read_text().startswith("#!/opt/kefu/bin/python\n")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(launcher), "migrate", "--help"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Create or upgrade the database schema" in done.stdout
