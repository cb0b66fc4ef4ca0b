"""Scale-out: one `kefu serve` node and one `kefu worker` against two of each, in the same run.

Each configuration gets a fresh PostgreSQL database (created and dropped) and an emptied Redis
database, and runs the production layout of docs/deployment.md on one machine: every node is its own
`kefu serve --no-worker` process (KEFU_RUN_WORKER_IN_SERVE=false, no SMTP listener), the outbox runs in
separate `kefu worker` processes, and live events travel over Redis. Both configurations get the same
workload:

1. HTTP conversation creates (`POST /api/v1/conversations`, bench/api_write.py's request and agent
   token): two `wrk` processes at half the concurrency each; with one node both aim at it, with two
   nodes one at each (what a balancer without stickiness does).
2. Live chat (bench/chat_load.py's clients): two load-generator processes, each with half the
   conversations. With two nodes, the first one's customers are on node A and its agents on node B, the
   second's the other way round, so every message crosses Redis; with one node everything is on it.
   Closed loop by default (each conversation sends its next message once the previous one is acked, at
   most 19 by Kefu's per-visitor limit); `--chat-rate R` paces R msg/s over a `--chat-seconds` window.

Prints a markdown table for docs/deployment.md. Needs `wrk`, PostgreSQL at KEFU_TEST_POSTGRES_URL
(default postgresql+asyncpg://postgres@127.0.0.1:5432/test; it creates and drops its own databases)
and Redis at KEFU_BENCH_SCALE_REDIS_URL (default redis://127.0.0.1:6379/12, **emptied** before and after
each configuration). Server logs are kept in $TMPDIR/kefu-scale.

    .venv/bin/python bench/scale.py [--seconds 10] [--concurrency 32] [--chat-conversations 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_write import (
    BIN,
    ROOT,
    WARM_UP_SECONDS,
    WRK_SCRIPT,
    drop_databases,
    free_port,
    make_database,
    prepare_kefu,
    run_wrk,
)
from bench.chat_load import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    BUDGET,
    EXCHANGE,
    WATCHED_PER_SOCKET,
    Meter,
    Target,
    clean_env,
    client_main,
    login,
    machine_cpu,
    postgres_pids,
    prime_console,
    process_cpu,
    raise_fd_limit,
    receive,
    server,
    spent,
    summarise,
)

REDIS_URL: Final = os.environ.get("KEFU_BENCH_SCALE_REDIS_URL", "redis://127.0.0.1:6379/12")
LOGS: Final = Path(tempfile.gettempdir()) / "kefu-scale"
LOAD_PROCESSES: Final = 2  # wrk processes and chat load generators, in both configurations


@dataclass(frozen=True)
class Layout:
    """The running processes of one configuration."""

    nodes: int
    ports: tuple[int, ...]
    server_pids: tuple[int, ...]
    worker_pids: tuple[int, ...]
    database: str  # PostgreSQL database name
    token: str
    cookie: str

    @property
    def base(self) -> str:
        # Every node answers for one public URL, as behind a balancer.
        return f"http://127.0.0.1:{self.ports[0]}"

    def node(self, index: int) -> int:
        return self.ports[index % self.nodes]


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[int]:
    """A `kefu worker` process, once it says it runs; yields its pid."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(BIN / "kefu"), "worker"], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while b"worker running" not in log.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"kefu worker did not start:\n{log.read_text(errors='replace')[-3000:]}"
                    )
                time.sleep(0.2)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def layout(nodes: int, workdir: Path) -> Iterator[Layout]:
    """`nodes` serve nodes and as many workers on a fresh database and an empty Redis database."""
    name = f"scale{nodes}"
    database = make_database("postgres", workdir, [name])[name]
    ports = tuple(free_port() for _ in range(nodes))
    env = clean_env() | {
        "KEFU_DATABASE_URL": database,
        "KEFU_REDIS_URL": REDIS_URL,
        "KEFU_DATA_DIR": str(workdir / name),
        "KEFU_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
        "KEFU_BASE_URL": f"http://127.0.0.1:{ports[0]}",
        "KEFU_CHAT_ORIGINS": EXCHANGE,
        "KEFU_CHAT_BOT": "false",  # the bot would answer each chat's first message with its own
        "KEFU_LOG_LEVEL": "WARNING",
        "KEFU_SMTP_LISTEN": "",  # web nodes never run the SMTP listener (docs/deployment.md)
        "KEFU_RUN_WORKER_IN_SERVE": "false",
    }
    flush_redis()
    try:
        token = prepare_kefu(env, ROOT)
        subprocess.run(
            [
                BIN / "kefu",
                "agent",
                "create",
                "--email",
                AGENT_EMAIL,
                "--name",
                "Agent",
                "--password",
                AGENT_PASSWORD,
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with contextlib.ExitStack() as stack:
            server_pids = tuple(
                stack.enter_context(
                    server(
                        [str(BIN / "kefu"), "serve", "--port", str(port), "--no-worker"],
                        env,
                        f"http://127.0.0.1:{port}/readyz",
                        LOGS / f"{name}-node{i}.log",
                    )
                )
                for i, port in enumerate(ports)
            )
            worker_pids = tuple(
                stack.enter_context(worker(env, LOGS / f"{name}-worker{i}.log")) for i in range(nodes)
            )
            yield Layout(
                nodes=nodes,
                ports=ports,
                server_pids=server_pids,
                worker_pids=worker_pids,
                database=database.rsplit("/", 1)[1],
                token=token,
                cookie=login(f"http://127.0.0.1:{ports[0]}"),
            )
    finally:
        drop_databases([database])
        flush_redis()


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def other_cpu(shares: dict[str, float]) -> float:
    """The machine's busy time not spent by the run's own processes (other programs)."""
    ours = shares["server_cpu"] + shares["worker_cpu"] + shares["postgres_cpu"] + shares["load_cpu"]
    return max(shares["machine_busy"] - ours, 0.0)


class Cpu:
    """CPU seconds of the servers, the workers, the database's backends and the machine."""

    def __init__(self, run: Layout) -> None:
        self.run = run
        self.started = time.monotonic()
        self.servers = process_cpu(run.server_pids)
        self.workers = process_cpu(run.worker_pids)
        self.postgres = process_cpu(postgres_pids((run.database,)))
        self.machine = machine_cpu()

    def shares(self) -> dict[str, float]:
        """Each as a share of one core since this reading (1.0 = one core busy)."""
        seconds = time.monotonic() - self.started
        busy0, total0 = self.machine
        busy1, total1 = machine_cpu()
        return {
            "server_cpu": spent(self.servers, process_cpu(self.run.server_pids)) / seconds,
            "worker_cpu": spent(self.workers, process_cpu(self.run.worker_pids)) / seconds,
            "postgres_cpu": spent(self.postgres, process_cpu(postgres_pids((self.run.database,)))) / seconds,
            "machine_busy": (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1),
        }


def http_phase(run: Layout, args: argparse.Namespace, script: Path) -> dict[str, float]:
    """Two wrk processes at once, each on its node (both on the only node of a one-node run)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {run.token}"}
    urls = [f"http://127.0.0.1:{run.node(i)}/api/v1/conversations" for i in range(LOAD_PROCESSES)]
    for port in run.ports:  # connections opened, statements prepared, the recurring customers created
        run_wrk(f"http://127.0.0.1:{port}/api/v1/conversations", 4, WARM_UP_SECONDS, headers, script)
    per_process = max(args.concurrency // LOAD_PROCESSES, 1)
    results: list[dict[str, float]] = [{} for _ in urls]
    failures: list[Exception] = []

    def one(index: int) -> None:
        try:
            results[index] = run_wrk(urls[index], per_process, args.seconds, headers, script)
        except (RuntimeError, OSError) as exc:  # reported below, from the main thread
            failures.append(exc)

    cpu = Cpu(run)
    wrk_before = children_cpu()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shares = cpu.shares()
    shares["load_cpu"] = (children_cpu() - wrk_before) / max(args.seconds, 1)
    if failures:
        raise failures[0]
    total = sum(r["rps"] for r in results)
    return {
        "rps": total,
        # wrk reports percentiles per process: p50 weighted by each one's requests, p99 the worse one.
        "p50": sum(r["p50"] * r["rps"] for r in results) / total if total else math.nan,
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    } | shares


def chat_phase(run: Layout, args: argparse.Namespace) -> dict[str, Any]:
    """bench/chat_load.py's clients, one load process per direction (customers on A, agents on B)."""
    context = multiprocessing.get_context("spawn")
    per_process = math.ceil(args.chat_conversations / LOAD_PROCESSES)
    closed_loop = args.chat_rate is None
    pipes, procs = [], []
    for index, first in enumerate(range(0, args.chat_conversations, per_process)):
        count = min(per_process, args.chat_conversations - first)
        spec = {
            "first": first,
            "count": count,
            "customer_url": f"ws://127.0.0.1:{run.node(index)}/chat/ws",
            "customer_origin": EXCHANGE,
            "agent_url": f"ws://127.0.0.1:{run.node(index + 1)}/console/ws",
            "agent_origin": run.base,
            "cookie": run.cookie,
            "per_socket": WATCHED_PER_SOCKET,
            "rate": (args.chat_rate or 0) * count / args.chat_conversations,
            "warmup": 0 if closed_loop else args.chat_warmup,
            # Closed loop: the budget of messages ends the run, this only bounds it.
            "seconds": 120 if closed_loop else args.chat_seconds,
            "drain": 10,
            "max": closed_loop,
            "deflate": False,  # `kefu serve` does not offer permessage-deflate
        }
        parent, child = context.Pipe()
        proc = context.Process(target=client_main, args=(spec, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    target = Target(
        name=f"{run.nodes} nodes",
        nodes=run.nodes,
        customer_url="",
        agent_url="",
        agent_origin=run.base,
        cookie=run.cookie,
        customer_pids=run.server_pids,
        server_pids=run.server_pids,
        databases=(run.database,),
    )
    meter = Meter(target)
    warmup = 0 if closed_loop else args.chat_warmup
    try:
        setup = max(receive(p, c, "ready", 900) for p, c in zip(pipes, procs, strict=True))
        time.sleep(1)
        t0 = time.monotonic() + 0.5
        for pipe in pipes:
            pipe.send(("go", t0))
        time.sleep(max(t0 + warmup - time.monotonic(), 0))
        meter.mark()
        cpu = Cpu(run)
        for pipe, proc in zip(pipes, procs, strict=True):
            receive(pipe, proc, "finished", 300)
        meter.mark()
        shares = cpu.shares()
        results = [receive(p, c, "done", 200) for p, c in zip(pipes, procs, strict=True)]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    end = None if closed_loop else t0 + warmup + args.chat_seconds
    summary = summarise(results, t0 + warmup, end)
    return summary | shares | {"setup_seconds": setup, "load_cpu": summary["client_cpu"]}


def measure(nodes: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        script = workdir / "post.lua"
        script.write_text(WRK_SCRIPT)
        with layout(nodes, workdir) as run:
            http = http_phase(run, args, script)
            print(f"{nodes} node(s), HTTP: {http}", file=sys.stderr, flush=True)
            asyncio.run(
                prime_console(
                    Target(
                        "",
                        1,
                        "",
                        f"ws://127.0.0.1:{run.node(1)}/console/ws",
                        run.base,
                        run.cookie,
                        (),
                        (),
                        (),
                    )
                )
            )
            chat = chat_phase(run, args)
            print(f"{nodes} node(s), chat: {chat}", file=sys.stderr, flush=True)
    return {"http": http, "chat": chat}


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def percent(share: float) -> str:
    return f"{share:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk run per configuration")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP connections in all")
    parser.add_argument("--chat-conversations", type=int, default=100)
    parser.add_argument(
        "--chat-rate", type=float, default=None, help="paced msg/s (default: closed loop, as fast as acked)"
    )
    parser.add_argument("--chat-seconds", type=float, default=30, help="paced window")
    parser.add_argument("--chat-warmup", type=float, default=3, help="paced load before the window")
    parser.add_argument("--rounds", type=int, default=1, help="repeat both configurations, alternating")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/scale.py needs wrk (Debian package `wrk`)")
    if args.chat_rate is not None:
        per_conversation = math.ceil(
            args.chat_rate * (args.chat_seconds + args.chat_warmup) / args.chat_conversations
        )
        if per_conversation > BUDGET or args.chat_seconds + args.chat_warmup > 60:
            raise SystemExit(
                f"{per_conversation} messages per conversation: Kefu accepts {BUDGET} in a minute"
            )
    raise_fd_limit()
    LOGS.mkdir(exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # Rounds alternate the configurations (1, 2, 1, 2, ...): on a shared machine, what else runs
    # changes over minutes, and alternating spreads that over both.
    rows = [(round_, nodes, measure(nodes, args)) for round_ in range(1, args.rounds + 1) for nodes in (1, 2)]

    chat_mode = "closed loop" if args.chat_rate is None else f"{args.chat_rate:g} msg/s paced"
    print(
        f"\n{started}, {os.cpu_count()} cores. HTTP: {LOAD_PROCESSES} wrk processes, {args.concurrency} "
        f"connections in all, {args.seconds} s. Chat: {args.chat_conversations} conversations, {chat_mode}, "
        f"{LOAD_PROCESSES} load processes (two nodes: customers on one node, their agents on the other).\n"
    )
    print(
        "| round | configuration | conv/s | p50 ms | p99 ms | errors | server CPU | worker CPU "
        "| PostgreSQL CPU | load gen CPU | other CPU | chat msg/s delivered | p50 ms | p99 ms | server CPU "
        "| worker CPU | PostgreSQL CPU | load gen CPU | other CPU |"
    )
    print("|---:|---|" + "---:|" * 17)
    for round_, nodes, row in rows:
        h, c = row["http"], row["chat"]
        print(
            f"| {round_} | {nodes} node{'s' if nodes > 1 else ''} + {nodes} worker{'s' if nodes > 1 else ''} "
            f"| {h['rps']:.0f} | {h['p50']:.1f} | {h['p99']:.1f} | {h['errors']:.0f} "
            f"| {percent(h['server_cpu'])} | {percent(h['worker_cpu'])} | {percent(h['postgres_cpu'])} "
            f"| {percent(h['load_cpu'])} | {percent(other_cpu(h))} "
            f"| {c['delivered_per_s']:.0f} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} "
            f"| {percent(c['server_cpu'])} | {percent(c['worker_cpu'])} | {percent(c['postgres_cpu'])} "
            f"| {percent(c['load_cpu'])} | {percent(other_cpu(c))} |"
        )
    print()
    for round_ in range(1, args.rounds + 1):
        one, two = (row for r, _nodes, row in rows if r == round_)
        print(
            f"Scaling factor, round {round_} (2 nodes ÷ 1 node): conversations "
            f"×{ratio(two['http']['rps'], one['http']['rps']):.2f}, chat messages "
            f"×{ratio(two['chat']['delivered_per_s'], one['chat']['delivered_per_s']):.2f}."
        )
    for round_, nodes, row in rows:
        if errors := row["chat"]["errors"]:
            print(f"Chat errors, round {round_}, {nodes} node(s): {errors}")
    print(
        f"\nCPU: 100 % is one core (the machine has {100 * (os.cpu_count() or 1)} %); server CPU sums the "
        "nodes; load gen is wrk or the chat clients; other CPU is the rest of the machine's busy time "
        f"(Redis, other programs). On a {os.cpu_count()}-core machine "
        "two nodes share the cores with PostgreSQL, Redis, the workers and the load generators (and "
        "with whatever else runs), so the factor is a floor for what a second machine gives: the run "
        f"shows that the layout works and what it gives here. Logs: {LOGS}."
    )


if __name__ == "__main__":
    main()
