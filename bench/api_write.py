"""Conversations created per second through HTTP, against a bare one-INSERT FastAPI endpoint.

Starts real server processes (`kefu serve` and uvicorn running bench/bare_app.py) on SQLite and on
PostgreSQL, drives them with wrk at concurrency 1, 16 and 64, and prints a markdown table for
docs/performance.md. Needs `wrk` (Debian package) and, for PostgreSQL, a server at
KEFU_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test).

    .venv/bin/python bench/api_write.py [--seconds 10] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Before measuring, each server gets the same short run: connections opened, statements prepared,
# lazily imported modules loaded, and the 1,000 recurring customers of the script created.
WARM_UP_CONCURRENCY = 4
WARM_UP_SECONDS = 3
PG_ADMIN = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

WRK_SCRIPT = textwrap.dedent(
    """
    local counter = 0
    request = function()
      counter = counter + 1
      local body = string.format(
        '{"subject":"Deposit missing","body":"USDT deposit not credited %d","category":"deposit",'
        .. '"customer":{"email":"bench%d@example.com"},"form_fields":{"asset":"USDT","network":"TRC20"}}',
        counter, counter % 1000)
      return wrk.format("POST", wrk.path, wrk.headers, body)
    end
    done = function(summary, latency, requests)
      io.write(string.format("RESULT %d %d %d %.3f %.3f\\n", summary.requests,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout, summary.duration,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
    end
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str], ready_url: str) -> Iterator[None]:
    # Output goes to /dev/null: an undrained pipe would block the server once it fills.
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(ready_url)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_wrk(
    url: str, concurrency: int, seconds: int, headers: dict[str, str], script: Path
) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t",
        str(min(concurrency, 2)),
        "-c",
        str(concurrency),
        "-d",
        f"{seconds}s",
        "-s",
        str(script),
    ]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, check=False)
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    requests, errors, duration_us, p50, p99 = match.groups()
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "errors": int(errors),
        "p50": float(p50),
        "p99": float(p99),
    }


def make_database(backend: str, workdir: Path) -> tuple[str, str]:
    """Two fresh databases (kefu, bare) for a backend."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'kefu.db'}", f"sqlite+aiosqlite:///{workdir / 'bare.db'}"
    import asyncpg

    async def create() -> tuple[str, str]:
        base = PG_ADMIN.replace("postgresql+asyncpg", "postgresql")
        conn = await asyncpg.connect(base)
        names = [f"kefu_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        root = PG_ADMIN.rsplit("/", 1)[0]
        return f"{root}/{names[0]}", f"{root}/{names[1]}"

    return asyncio.run(create())


def drop_databases(urls: list[str]) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
        for url in urls:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def bench_backend(
    backend: str, seconds: int, levels: list[int], workers: int
) -> list[tuple[str, int, dict[str, float], dict[str, float]]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        kefu_url, bare_url = make_database(backend, workdir)
        script = workdir / "post.lua"
        script.write_text(WRK_SCRIPT)
        env = os.environ | {
            "KEFU_DATABASE_URL": kefu_url,
            "KEFU_DATA_DIR": str(workdir / "data"),
            "KEFU_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "KEFU_LOG_LEVEL": "WARNING",
            "BARE_DATABASE_URL": bare_url,
        }
        try:
            subprocess.run([BIN / "kefu", "migrate"], env=env, check=True, capture_output=True)
            subprocess.run(
                [
                    BIN / "kefu",
                    "agent",
                    "create",
                    "--email",
                    "bench@kefu.test",
                    "--name",
                    "Bench",
                    "--password",
                    "bench-password-123",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            token = subprocess.run(
                [BIN / "kefu", "token", "create", "--agent", "bench@kefu.test"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            kefu_port, bare_port = free_port(), free_port()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            results: dict[str, dict[int, dict[str, float]]] = {"kefu": {}, "bare": {}}
            with process(
                [
                    str(BIN / "kefu"),
                    "serve",
                    "--port",
                    str(kefu_port),
                    "--no-worker",
                    "--workers",
                    str(workers),
                ],
                env,
                f"http://127.0.0.1:{kefu_port}/healthz",
            ):
                kefu_target = f"http://127.0.0.1:{kefu_port}/api/v1/conversations"
                run_wrk(kefu_target, WARM_UP_CONCURRENCY, WARM_UP_SECONDS, headers, script)
                for level in levels:
                    results["kefu"][level] = run_wrk(kefu_target, level, seconds, headers, script)
            with process(
                [
                    str(BIN / "uvicorn"),
                    "bench.bare_app:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--workers",
                    str(workers),
                ],
                env,
                f"http://127.0.0.1:{bare_port}/docs",
            ):
                bare_target = f"http://127.0.0.1:{bare_port}/bare"
                run_wrk(bare_target, WARM_UP_CONCURRENCY, WARM_UP_SECONDS, headers, script)
                for level in levels:
                    results["bare"][level] = run_wrk(bare_target, level, seconds, headers, script)
        finally:
            if backend == "postgres":
                drop_databases([kefu_url, bare_url])
        for level in levels:
            rows.append((backend, level, results["kefu"][level], results["bare"][level]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--workers", type=int, default=1, help="server processes for both apps")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    print(
        f"workers: {args.workers}\n\n"
        "| backend | concurrency | Kefu conv/s | p50 ms | p99 ms | errors "
        "| bare INSERT req/s | p50 ms | p99 ms | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend in args.backends.split(","):
        for name, level, kefu, bare in bench_backend(backend, args.seconds, levels, args.workers):
            print(
                f"| {name} | {level} | {kefu['rps']:.0f} | {kefu['p50']:.1f} | {kefu['p99']:.1f} | "
                f"{kefu['errors']:.0f} | {bare['rps']:.0f} | {bare['p50']:.1f} | {bare['p99']:.1f} | "
                f"{kefu['rps'] / bare['rps']:.0%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
