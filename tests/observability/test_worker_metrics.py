"""`kefu worker --metrics-listen`: a standalone worker serves its own job counters to Prometheus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEFU = str(Path(sys.executable).parent / "kefu")


def _env(data_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return base | {"KEFU_DATA_DIR": str(data_dir), "KEFU_LOG_LEVEL": "WARNING", "COLUMNS": "200"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_worker_serves_its_job_metrics_on_the_address_given(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert subprocess.run([KEFU, "migrate"], env=env, capture_output=True, timeout=120).returncode == 0
    port = _free_port()
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [KEFU, "worker", "--metrics-listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except httpx.TransportError:
                assert worker.poll() is None, log.read_text()
                time.sleep(0.2)
        assert "# TYPE kefu_outbox_jobs_finished_total counter" in body
        assert "process_resident_memory_bytes" in body
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_malformed_metrics_address_is_refused_before_starting(tmp_path: Path) -> None:
    done = subprocess.run(
        [KEFU, "worker", "--metrics-listen", "nine-thousand"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr
    assert "Traceback" not in done.stderr
