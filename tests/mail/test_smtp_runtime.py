"""Where the SMTP listener runs: inside the runtime of `kefu serve` (never in test apps, never fatal when
its port is taken) and alone as `kefu smtp` (a real process, stopped by SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.smtp_server import listen_address
from kefu.runtime import Runtime
from kefu.storage.local import LocalBlobStore
from kefu.web.app import create_app
from tests.conftest import Database
from tests.mail.smtp_helpers import ALICE, SUPPORT, listener_settings, message, send, stored

KEFU = str(Path(sys.executable).parent / "kefu")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:2525", ("127.0.0.1", 2525)),
        (" 0.0.0.0:25 ", ("0.0.0.0", 25)),  # noqa: S104 - a value under test, not a bind
        ("[::1]:2525", ("::1", 2525)),
        ("mx.kefu.test:0", ("mx.kefu.test", 0)),
        ("", None),
    ],
)
def test_listen_address(value: str, expected: tuple[str, int] | None) -> None:
    assert listen_address(value) == expected


@pytest.mark.parametrize("value", ["2525", "localhost", ":2525", "host:", "host:99999", "host:-1", "host:x"])
def test_listen_address_refuses_typos(value: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        listen_address(value)


async def test_runtime_runs_the_listener_and_stops_it(runtime: Runtime, db: Database) -> None:
    runtime.settings = listener_settings(runtime.settings, smtp_listen="127.0.0.1:0")
    listener = await runtime.start_smtp()
    assert listener is not None
    assert runtime.smtp is listener
    assert await send(listener.port, ALICE, [SUPPORT], message()) == {}
    assert len(await stored(db)) == 1
    await runtime.stop_smtp()
    assert runtime.smtp is None
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", listener.port)


async def test_taken_port_is_logged_not_fatal_for_serve(runtime: Runtime, taken_port: int) -> None:
    runtime.settings = listener_settings(runtime.settings, smtp_listen=f"127.0.0.1:{taken_port}")
    with capture_logs() as logs:
        assert await runtime.start_smtp() is None
    [entry] = [e for e in logs if e["event"] == "smtp_listener_not_started"]
    assert entry["log_level"] == "error"
    assert entry["listen"] == f"127.0.0.1:{taken_port}"
    with pytest.raises(OSError, match="in use"):
        await runtime.start_smtp(must_bind=True)
    assert runtime.smtp is None


async def test_empty_setting_disables_and_a_typo_is_reported(runtime: Runtime) -> None:
    runtime.settings = listener_settings(runtime.settings, smtp_listen="")
    assert await runtime.start_smtp() is None
    runtime.settings = listener_settings(runtime.settings, smtp_listen="localhost")
    with capture_logs() as logs:
        assert await runtime.start_smtp() is None
    assert [e["event"] for e in logs] == ["smtp_listener_not_started"]
    with pytest.raises(ValueError, match="host:port"):
        await runtime.start_smtp(must_bind=True)


async def test_test_apps_never_start_the_listener(runtime: Runtime) -> None:
    # Test settings keep the default 127.0.0.1:2525: neither app may bind it.
    assert runtime.settings.smtp_listen == "127.0.0.1:2525"
    for app in (create_app(runtime=runtime), create_app(runtime=runtime, start_worker=False)):
        async with app.router.lifespan_context(app):
            assert runtime.smtp is None
    served = runtime.settings.model_copy(update={"env": "development"})
    runtime.settings = served
    app = create_app(served, runtime=runtime, start_worker=False)
    async with app.router.lifespan_context(app):
        assert runtime.smtp is None


async def test_served_app_runs_the_listener_during_its_lifespan(runtime: Runtime, db: Database) -> None:
    served = listener_settings(runtime.settings, env="development", smtp_listen="127.0.0.1:0")
    runtime.settings = served
    app = create_app(served, runtime=runtime)
    async with app.router.lifespan_context(app):
        assert runtime.smtp is not None
        port = runtime.smtp.port
        assert await send(port, ALICE, [SUPPORT], message()) == {}
    assert runtime.smtp is None
    assert len(await stored(db)) == 1
    explicit = create_app(runtime=runtime, start_worker=False, start_smtp=True)
    async with explicit.router.lifespan_context(explicit):
        assert runtime.smtp is not None
    assert runtime.smtp is None


def _cli_env(db: Database, data_dir: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")} | {
        "KEFU_DATA_DIR": str(data_dir),
        "KEFU_DATABASE_URL": db.url,
        "KEFU_SUPPORT_ADDRESSES": SUPPORT,
        "KEFU_SMTP_LISTEN": "",  # the command's --host/--port win; empty must not stop `kefu smtp`
        "KEFU_LOG_LEVEL": "INFO",
    }


async def test_kefu_smtp_command_serves_until_sigterm(db: Database, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        KEFU,
        "smtp",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        env=_cli_env(db, tmp_path / "data"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    output = b""
    try:
        async with asyncio.timeout(60):
            while (found := re.search(rb"listener on 127\.0\.0\.1:(\d+)", output)) is None:
                line = await process.stderr.readline()
                assert line, output.decode()
                output += line
        port = int(found.group(1))
        assert await send(port, ALICE, [SUPPORT], message()) == {}
        [row] = await stored(db)
        blobs = LocalBlobStore(tmp_path / "data" / "blobs")
        assert decompress_raw(await blobs.get(row.raw_key)) == message()
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, rest = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (output + rest).decode()
    assert b"Traceback" not in output + rest


async def test_kefu_smtp_command_fails_on_a_taken_port(db: Database, tmp_path: Path, taken_port: int) -> None:
    process = await asyncio.create_subprocess_exec(
        KEFU,
        "smtp",
        "--port",
        str(taken_port),
        env=_cli_env(db, tmp_path / "data"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}".encode() in stderr
