"""deploy/systemd: units that run the documented commands as an unprivileged, confined user."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.facts import (
    ENV_EXAMPLE,
    PLACEHOLDER,
    SYSTEMD,
    parse_command,
    secret_setting_names,
    setting_names,
    settings_from,
    split_command,
)

KEFU = "/opt/kefu/bin/kefu"
UNITS = {
    "kefu-serve@.service": "serve",
    "kefu-worker@.service": "worker",
    "kefu-smtp.service": "smtp",
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
}


def unit(name: str) -> configparser.SectionProxy:
    # strict=False: systemd allows repeated keys (SystemCallFilter=); the last one is kept here.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text())
    return parser["Service"]


def exec_args(name: str) -> list[str]:
    """ExecStart's kefu arguments, with the template instance and the unit's variables filled in."""
    line = unit(name)["ExecStart"].replace("%i", "8000").replace("${PROXY_IPS}", "127.0.0.1")
    program, *args = split_command(line)
    assert program == KEFU
    return args


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


@pytest.mark.parametrize(("name", "command"), UNITS.items())
def test_exec_start_is_a_real_kefu_command(name: str, command: str) -> None:
    args = exec_args(name)
    assert args[0] == command
    parse_command(args)


@pytest.mark.parametrize("name", UNITS)
def test_unit_restarts_and_reads_the_env_file(name: str) -> None:
    service = unit(name)
    assert service["Restart"] in {"on-failure", "always"}
    assert service["EnvironmentFile"] == "/etc/kefu/kefu.env"
    assert int(service["TimeoutStopSec"]) >= 15  # the SMTP listener and sockets finish their work


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_unprivileged_and_confined(name: str) -> None:
    service = unit(name)
    assert service["User"] not in {"", "root", "0"}
    assert service["Group"] not in {"", "root", "0"}
    for option, value in HARDENING.items():
        assert service[option] == value, option
    assert service["ReadWritePaths"] == "/var/lib/kefu"


def test_only_the_smtp_listener_may_bind_a_low_port() -> None:
    assert unit("kefu-smtp.service")["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert unit("kefu-smtp.service")["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    for name in ("kefu-serve@.service", "kefu-worker@.service"):
        assert unit(name)["CapabilityBoundingSet"] == ""
        assert unit(name)["AmbientCapabilities"] == ""


def test_serve_runs_no_worker_and_takes_its_port_from_the_instance() -> None:
    params = parse_command(exec_args("kefu-serve@.service"))
    assert params["worker"] is False
    assert params["port"] == 8000  # %i
    assert params["forwarded_allow_ips"] == "127.0.0.1"


def test_smtp_listens_on_port_25_given_explicitly() -> None:
    params = parse_command(exec_args("kefu-smtp.service"))
    assert (params["host"], params["port"]) == ("0.0.0.0", 25)  # noqa: S104 - the MX


def test_env_example_names_only_real_settings() -> None:
    assert set(env_example()) - setting_names() == set()


def test_env_example_keeps_worker_and_listener_out_of_the_web_nodes() -> None:
    values = env_example()
    assert values["KEFU_RUN_WORKER_IN_SERVE"] == "false"
    assert values["KEFU_SMTP_LISTEN"] == ""


def test_env_example_holds_no_real_secret_and_is_refused_as_is() -> None:
    values = env_example()
    for name in secret_setting_names() & set(values):
        assert PLACEHOLDER in values[name], name
    from kefu.settings import InsecureSettingsError

    with pytest.raises(InsecureSettingsError):
        settings_from(values).check_production_ready()
    filled = {name: value.replace(PLACEHOLDER, "x" * 40) for name, value in values.items()}
    settings_from(filled).check_production_ready()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # The units name /opt/kefu/bin/kefu; here the kefu of this virtualenv stands in for it.
    kefu = Path(sys.executable).parent / "kefu"
    if not kefu.exists():
        pytest.skip("no kefu console script next to this Python")
    instances = {
        "kefu-serve@.service": "kefu-serve@8000.service",
        "kefu-worker@.service": "kefu-worker@1.service",
    }
    paths = []
    for name in UNITS:
        text = (SYSTEMD / name).read_text().replace(KEFU, str(kefu))
        (tmp_path / name).write_text(text)
        target = tmp_path / instances.get(name, name)
        target.write_text(text)
        paths.append(str(target))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr
