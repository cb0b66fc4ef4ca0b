"""Conversations created per second through HTTP, against a bare one-INSERT FastAPI endpoint.

Starts real server processes (`kefu serve` and uvicorn running bench/bare_app.py) on SQLite and on
PostgreSQL, drives them with wrk at concurrency 1, 16 and 64, and prints a markdown table for
docs/performance.md. Needs `wrk` (Debian package) and, for PostgreSQL, a server at
KEFU_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test).

    .venv/bin/python bench/api_write.py [--seconds 10] [--backends sqlite,postgres] [--workers 2]

Every server first gets the same short warm-up run. `--baseline DIR` also measures Kefu served from
another source tree (say, an export of the commit before a change) in the same run, on its own
database: on a shared machine, figures from different runs differ by up to 30 %.
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
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Before measuring, each server gets the same short run: connections opened, statements prepared,
# lazily imported modules loaded, and the 1,000 recurring customers of the script created.
WARM_UP_CONCURRENCY = 4
WARM_UP_SECONDS = 3
PG_ADMIN = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

CUSTOMERS = 1000  # as in WRK_SCRIPT's `counter % 1000`

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
def process(cmd: list[str], env: dict[str, str], ready_url: str, *, cwd: Path, log: Path) -> Iterator[int]:
    """Run a server until the block ends; its output goes to `log` (shown when the block fails).

    A file rather than a pipe: an undrained pipe would block the server once it fills.
    """
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_ready(ready_url)
            yield proc.pid
        except Exception:
            print(
                f"--- output of {' '.join(cmd[:2])}:\n{log.read_text(errors='replace')[-3000:]}",
                file=sys.stderr,
            )
            raise
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
        raise RuntimeError(f"wrk on {url} failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    requests, errors, duration_us, p50, p99 = match.groups()
    return {
        "requests": int(requests),
        "rps": int(requests) / (int(duration_us) / 1e6),
        "errors": int(errors),
        "p50": float(p50),
        "p99": float(p99),
    }


def request_body(counter: int) -> str:
    """What the wrk script sends as its `counter`-th request (kept in step with WRK_SCRIPT)."""
    return (
        f'{{"subject":"Deposit missing","body":"USDT deposit not credited {counter}","category":"deposit",'
        f'"customer":{{"email":"bench{counter % CUSTOMERS}@example.com"}},'
        '"form_fields":{"asset":"USDT","network":"TRC20"}}'
    )


def seed_customers(url: str, headers: dict[str, str]) -> None:
    """One request per recurring customer, so that every measured request is for a known one (a
    warm-up by time alone reaches fewer of them on a slower server)."""

    async def send_all() -> None:
        json_headers = {**headers, "content-type": "application/json"}
        async with httpx.AsyncClient(timeout=30, headers=json_headers) as http:
            pending = list(range(CUSTOMERS))

            async def send(body: str) -> httpx.Response:
                for _attempt in range(3):
                    try:
                        return await http.post(url, content=body)
                    except httpx.TransportError:  # a kept-alive connection the server just closed
                        await asyncio.sleep(0.1)
                return await http.post(url, content=body)

            async def sender() -> None:
                while pending:
                    response = await send(request_body(pending.pop()))
                    if response.status_code >= 300:
                        raise RuntimeError(f"seeding failed: {response.status_code} {response.text[:200]}")

            await asyncio.gather(*(sender() for _ in range(WARM_UP_CONCURRENCY)))

    asyncio.run(send_all())


def make_database(backend: str, workdir: Path, names: list[str]) -> dict[str, str]:
    """A fresh database for each name (a Kefu build or the bare app) on a backend."""
    if backend == "sqlite":
        return {name: f"sqlite+aiosqlite:///{workdir / f'{name}.db'}" for name in names}
    import asyncpg

    async def create() -> dict[str, str]:
        base = PG_ADMIN.replace("postgresql+asyncpg", "postgresql")
        conn = await asyncpg.connect(base)
        databases = {name: f"kefu_bench_{uuid.uuid4().hex[:8]}" for name in names}
        for database in databases.values():
            await conn.execute(f'CREATE DATABASE "{database}"')
        await conn.close()
        root = PG_ADMIN.rsplit("/", 1)[0]
        return {name: f"{root}/{database}" for name, database in databases.items()}

    return asyncio.run(create())


def drop_databases(urls: list[str]) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
        for url in urls:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


Levels = dict[int, dict[str, float]]


def prepare_kefu(env: dict[str, str], root: Path) -> str:
    """Migrate a Kefu database and create the bench agent; returns its API token."""

    def kefu(*args: str) -> str:
        done = subprocess.run(
            [BIN / "kefu", *args], env=env, cwd=root, check=True, capture_output=True, text=True
        )
        return done.stdout

    kefu("migrate")
    kefu(
        "agent", "create", "--email", "bench@kefu.test", "--name", "Bench", "--password", "bench-password-123"
    )
    return kefu("token", "create", "--agent", "bench@kefu.test").strip().splitlines()[0]


def measure(
    cmd: list[str], env: dict[str, str], root: Path, ready: str, target: str, run: dict[str, Any]
) -> Levels:
    """Start a server, warm it up, then drive it at each concurrency level."""
    results: Levels = {}
    log = run["script"].with_name(f"server-{uuid.uuid4().hex[:8]}.log")
    database = str(env.get("KEFU_DATABASE_URL") or env.get("BARE_DATABASE_URL") or "").rpartition("/")[2]
    with process(cmd, env, ready, cwd=root, log=log) as pid:
        seed_customers(target, run["headers"])
        run_wrk(target, WARM_UP_CONCURRENCY, WARM_UP_SECONDS, run["headers"], run["script"])
        for level in run["levels"]:
            # CPU per request, from /proc: much steadier than throughput on a shared machine.
            servers = process_tree(pid)
            before = cpu_seconds(servers), cpu_seconds(postgres_backends(database))
            spy = _profile(pid, run, level)
            results[level] = run_wrk(target, level, run["seconds"], run["headers"], run["script"])
            if spy is not None:
                spy.wait(timeout=60)
            count = max(1, results[level]["requests"])
            results[level]["server_ms"] = spent(before[0], cpu_seconds(servers)) * 1000 / count
            # Backends are looked up again: the pool may have opened connections during the run.
            results[level]["db_ms"] = (
                spent(before[1], cpu_seconds(postgres_backends(database))) * 1000 / count
            )
    return results


def _profile(pid: int, run: dict[str, Any], level: int) -> subprocess.Popen[bytes] | None:
    """With --profile DIR, py-spy samples the server (and its workers) over a level's run."""
    directory: Path | None = run.get("profile")
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{run.get('name', 'server')}-c{level}.txt"
    cmd = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    cmd += ["--duration", str(run["seconds"]), "--output", str(output)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """`root` and its descendants (uvicorn's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sorted(tree)


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backend processes connected to `database` (none for SQLite)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
                if database and title.startswith("postgres:") and f" {database} " in title:
                    pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of `pids` that still runs."""
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat(pid)
            used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings: a process started in between counts from zero, one that
    ended in between is lost (an undercount, e.g. a pooled connection closed during the run)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def measure_kefu(env: dict[str, str], root: Path, workers: int, run: dict[str, Any]) -> Levels:
    """Kefu from the source tree `root` (the working tree, or a baseline checkout)."""
    if root != ROOT:
        env = env | {"PYTHONPATH": str(root)}  # imported ahead of the editable install
    token = prepare_kefu(env, root)
    port = free_port()
    cmd = [str(BIN / "kefu"), "serve", "--port", str(port), "--no-worker", "--workers", str(workers)]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return measure(
        cmd,
        env,
        root,
        f"http://127.0.0.1:{port}/healthz",
        f"http://127.0.0.1:{port}/api/v1/conversations",
        run | {"headers": headers, "name": f"kefu-{root.name}"},
    )


def bench_backend(
    backend: str,
    seconds: int,
    levels: list[int],
    workers: int,
    baseline: Path | None,
    profile: Path | None = None,
) -> list[tuple[str, int, dict[str, float], dict[str, float], dict[str, float] | None]]:
    """One backend: Kefu (and the baseline build, if any), then the bare endpoint."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        names = ["kefu", "bare"] + (["baseline"] if baseline else [])
        urls = make_database(backend, workdir, names)
        script = workdir / "post.lua"
        script.write_text(WRK_SCRIPT)
        env = os.environ | {
            "KEFU_DATA_DIR": str(workdir / "data"),
            "KEFU_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "KEFU_LOG_LEVEL": "WARNING",
            # HTTP only: no SMTP listener (and no port for the server processes to compete for).
            "KEFU_SMTP_LISTEN": "",
            "BARE_DATABASE_URL": urls["bare"],
        }
        run: dict[str, Any] = {"levels": levels, "seconds": seconds, "script": script, "profile": profile}
        try:
            kefu = measure_kefu(env | {"KEFU_DATABASE_URL": urls["kefu"]}, ROOT, workers, run)
            before = (
                measure_kefu(env | {"KEFU_DATABASE_URL": urls["baseline"]}, baseline, workers, run)
                if baseline
                else None
            )
            port = free_port()
            bare_cmd = [str(BIN / "uvicorn"), "bench.bare_app:app", "--port", str(port)]
            bare_cmd += ["--log-level", "warning", "--no-access-log", "--workers", str(workers)]
            # Any token: the bare endpoint does not read it, but gets the same request bytes.
            headers = {"Content-Type": "application/json", "Authorization": "Bearer kefu_" + "x" * 43}
            bare = measure(
                bare_cmd,
                env,
                ROOT,
                f"http://127.0.0.1:{port}/docs",
                f"http://127.0.0.1:{port}/bare",
                run | {"headers": headers, "name": "bare"},
            )
        finally:
            if backend == "postgres":
                drop_databases(list(urls.values()))
    return [(backend, level, kefu[level], bare[level], before[level] if before else None) for level in levels]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--workers", type=int, default=1, help="server processes for both apps")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also measure Kefu from this source tree (an export of an older commit) in the same run",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the servers into this directory")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    baseline = args.baseline.resolve() if args.baseline else None
    extra = " baseline conv/s | gain | baseline server CPU ms |" if baseline else ""
    print(
        f"workers: {args.workers}\n\n"
        "| backend | concurrency | Kefu conv/s | p50 ms | p99 ms | errors | server CPU ms | db CPU ms |"
        f"{extra} bare INSERT req/s | p50 ms | p99 ms | server CPU ms | db CPU ms | ratio |"
    )
    print(
        "|---|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|---:|---:|" if baseline else "")
        + "---:|---:|---:|---:|---:|---:|"
    )
    for backend in args.backends.split(","):
        for name, level, kefu, bare, before in bench_backend(
            backend, args.seconds, levels, args.workers, baseline, args.profile
        ):
            compared = (
                f" {before['rps']:.0f} | {kefu['rps'] / before['rps'] - 1:+.0%} | {before['server_ms']:.2f} |"
                if before
                else ""
            )
            print(
                f"| {name} | {level} | {kefu['rps']:.0f} | {kefu['p50']:.1f} | {kefu['p99']:.1f} | "
                f"{kefu['errors']:.0f} | {kefu['server_ms']:.2f} | {kefu['db_ms']:.2f} |{compared} "
                f"{bare['rps']:.0f} | {bare['p50']:.1f} | {bare['p99']:.1f} | {bare['server_ms']:.2f} | "
                f"{bare['db_ms']:.2f} | {kefu['rps'] / bare['rps']:.0%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
