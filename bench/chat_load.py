"""Live chat under load: N conversations at a message rate, customer → agent, persisted.

Starts real servers and drives them over WebSockets from a separate load-generator process:

- `sqlite`, `postgres`: one `kefu serve --no-worker` node;
- `postgres-redis`: two nodes on one PostgreSQL database and Redis; customers on node A, agents on B;
- `relay`: bench/chat_relay.py, a bare Starlette relay doing one asyncpg INSERT per message.

Each conversation is a customer socket (`/chat/ws`: hello, then a first message opens the chat) and is
watched by an agent's console socket (`/console/ws`). The console watches at most 10 conversations
per socket (kefu.web.ws.console.MAX_WATCHED), so N conversations get ceil(N / 10) agent sockets, all
signed in as one agent (sockets per agent are not capped). Latency is from the customer's `message`
frame being sent to the watching agent socket receiving `message.created` with that conversation and
the `seq` of the customer's `ack`. Delivered msg/s counts messages acked and heard by the agent within
the measured window. Memory per idle connection: server RSS before and after opening M customer
sockets that finished hello/welcome, divided by M.

Kefu allows 20 messages a minute per visitor (`welcome.limits.messages_per_minute`), so a run sends
at most 19 messages per conversation after the opening one: the paced mode refuses settings beyond
that, and `--max` (each conversation sends its next message as soon as the previous one is acked)
stops there. The relay gets exactly the same load.

Prints markdown tables for docs/performance.md; server logs (and py-spy profiles with --profile) are
kept in $TMPDIR/kefu-chat-load. Needs PostgreSQL at KEFU_TEST_POSTGRES_URL and, for two nodes, Redis
at KEFU_BENCH_REDIS_URL (default database 11, which the run empties of the nodes' keys).

    .venv/bin/python bench/chat_load.py --conversations 1000 --rate 500 --seconds 30
    .venv/bin/python bench/chat_load.py --conversations 1000 --max --backends postgres,relay
    .venv/bin/python bench/chat_load.py --conversations 10 --rate 5 --seconds 5 --no-deflate
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_write import BIN, ROOT, drop_databases, free_port, make_database, wait_ready
from kefu.events.log import LOG_KEY

T = TypeVar("T")

EXCHANGE: Final = "https://www.exchange.bench"  # the chat origin the servers allow
AGENT_EMAIL: Final = "agent@bench.kefu.test"
AGENT_PASSWORD: Final = "bench-password-123"
LOGS: Final = Path(tempfile.gettempdir()) / "kefu-chat-load"  # server output, kept after the run
# A database of its own: the two-node run empties it of the nodes' keys before and after.
REDIS_URL: Final = os.environ.get("KEFU_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
BODY: Final = "Hi, my USDT deposit on TRC20 has not arrived after two hours. Tx 9f2c4e1b7a6d5c3e8f0a"
WATCHED_PER_SOCKET: Final = 10
# The `welcome` frame's limits.messages_per_minute (docs/chat-protocol.md), checked against the server.
MESSAGES_PER_MINUTE: Final = 20
# One message opens each conversation; the rest of the visitor's per-minute allowance is the run's.
BUDGET: Final = MESSAGES_PER_MINUTE - 1
CONNECT_CONCURRENCY: Final = 50
KEEPALIVE_SECONDS: Final = 20.0  # the chat socket drops a client silent for 75 s
FRAME_TIMEOUT: Final = 60.0
ACK: Final = '{"type":"ack"'
ERROR: Final = '{"type":"error"'
MESSAGE_CREATED: Final = '"message.created"'
CONVERSATION_RE: Final = re.compile(r'"conversation_id":"([0-9a-f-]{36})"')
SEQ_RE: Final = re.compile(r'"seq":(\d+)')
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def raise_fd_limit() -> None:
    """Thousands of sockets on each side: take the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def bounded(factories: list[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run the coroutines `limit` at a time (a burst of handshakes only measures the accept queue)."""
    gate = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories))


# --- the load generator (runs in its own process) -------------------------------------------------


@dataclass
class Customer:
    index: int
    ws: ClientConnection
    conversation_id: str = ""
    sent: int = 0
    last_sent: float = field(default_factory=time.monotonic)

    def next_client_id(self) -> str:
        self.sent += 1
        return f"b{self.index}-{self.sent}"


@dataclass
class AgentSocket:
    ws: ClientConnection
    watched: frozenset[str]
    frames: int = 0


class Tracker:
    """Matches each send with its ack (client_id → seq) and the agent's event (conversation, seq)."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.send_times: list[float] = []
        self.ack_times: list[float] = []  # of this run's messages: stored, whether heard or not
        self.acked: dict[tuple[str, int], str] = {}
        self.heard: dict[tuple[str, int], float] = {}
        self.done: list[tuple[float, float]] = []  # (sent at, heard at)
        self.waiters: dict[str, asyncio.Future[str]] = {}
        self.errors: Counter[str] = Counter()
        self.closing = False
        self.settled = asyncio.Event()  # nothing sent is waiting for its ack or its agent

    def on_send(self, client_id: str, at: float) -> None:
        self.sent[client_id] = at
        self.send_times.append(at)
        self.settled.clear()  # set again once this one is acked and heard (the drain waits for it)

    def on_ack(self, client_id: str, conversation_id: str, seq: int) -> None:
        waiter = self.waiters.pop(client_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(conversation_id)
        if client_id not in self.sent:
            return
        self.ack_times.append(time.monotonic())
        key = (conversation_id, seq)
        heard_at = self.heard.pop(key, None)
        if heard_at is None:
            self.acked[key] = client_id
        else:
            self.complete(client_id, heard_at)

    def on_heard(self, conversation_id: str, seq: int, at: float) -> None:
        key = (conversation_id, seq)
        client_id = self.acked.pop(key, None)
        if client_id is None:
            self.heard[key] = at
        else:
            self.complete(client_id, at)

    def complete(self, client_id: str, heard_at: float) -> None:
        self.done.append((self.sent.pop(client_id), heard_at))
        if not self.sent:
            self.settled.set()

    def on_error(self, code: str, client_id: str | None) -> None:
        self.errors[code] += 1
        waiter = self.waiters.pop(client_id, None) if client_id else None
        if waiter is not None and not waiter.done():
            waiter.set_exception(RuntimeError(code))

    def on_closed(self, who: str, code: int | None) -> None:
        if not self.closing:
            self.errors[f"{who} socket closed ({code})"] += 1


async def open_customer(url: str, origin: str, deflate: bool, index: int) -> Customer:
    """A customer socket past hello, welcome and the (empty) replay; Kefu's rate limit is checked."""
    ws = await connect(
        url,
        origin=Origin(origin),
        compression="deflate" if deflate else None,
        ping_interval=None,
        open_timeout=FRAME_TIMEOUT,
    )
    await ws.send(dumps({"type": "hello", "v": 1, "visitor": None, "locale": "en"}))
    async with asyncio.timeout(FRAME_TIMEOUT):
        while not (raw := str(await ws.recv())).startswith('{"type":"caught_up"'):
            limits = json.loads(raw).get("limits") if raw.startswith('{"type":"welcome"') else None
            if limits and limits.get("messages_per_minute") != MESSAGES_PER_MINUTE:
                raise RuntimeError(f"the bench plans for {MESSAGES_PER_MINUTE} messages a minute: {limits}")
    return Customer(index, ws)


async def read_customer(customer: Customer, tracker: Tracker) -> None:
    resends: set[asyncio.Task[None]] = set()
    try:
        async for raw in customer.ws:
            if not isinstance(raw, str):
                continue
            if raw.startswith(ACK):
                frame = json.loads(raw)
                tracker.on_ack(frame["client_id"], frame["conversation"]["id"], frame["seq"])
            elif raw.startswith(ERROR):
                frame = json.loads(raw)
                if frame.get("code") == "busy" and frame.get("client_id"):
                    # As the widget does: not stored, so send it again after the pause plus jitter.
                    tracker.errors["customer busy (sent again)"] += 1
                    pause = frame.get("retry_after_ms", 1000) / 1000 * (1 + random.random())
                    resends.add(asyncio.create_task(resend(customer, frame["client_id"], pause)))
                    resends = {task for task in resends if not task.done()}
                    continue
                tracker.on_error(f"customer {frame.get('code')}", frame.get("client_id"))
    except ConnectionClosed:
        pass
    tracker.on_closed("customer", customer.ws.close_code)


async def resend(customer: Customer, client_id: str, pause: float) -> None:
    """Send a refused message again, with its client id (its latency keeps counting from the first try)."""
    await asyncio.sleep(pause)
    with contextlib.suppress(ConnectionClosed):
        await customer.ws.send(dumps({"type": "message", "client_id": client_id, "body": BODY}))


async def send_message(customer: Customer, tracker: Tracker) -> bool:
    """Send the customer's next message; False when the server has closed their socket."""
    client_id = customer.next_client_id()
    now = time.monotonic()
    customer.last_sent = now
    tracker.on_send(client_id, now)
    try:
        await customer.ws.send(dumps({"type": "message", "client_id": client_id, "body": BODY}))
    except ConnectionClosed:
        del tracker.sent[client_id]
        tracker.errors["not sent: socket already closed"] += 1
        return False
    return True


async def open_conversation(customer: Customer, tracker: Tracker) -> None:
    """The first message opens the chat; its ack names the conversation."""
    client_id = f"open-{customer.index}"
    waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    tracker.waiters[client_id] = waiter
    customer.last_sent = time.monotonic()
    await customer.ws.send(dumps({"type": "message", "client_id": client_id, "body": BODY}))
    async with asyncio.timeout(FRAME_TIMEOUT):
        customer.conversation_id = await waiter


async def open_agent(
    url: str, origin: str, cookie: str | None, deflate: bool, watched: list[str]
) -> AgentSocket:
    """A console socket watching `watched`; any refused watch makes the run meaningless."""
    ws = await connect(
        url,
        origin=Origin(origin),
        additional_headers={"Cookie": cookie} if cookie else None,
        compression="deflate" if deflate else None,
        ping_interval=None,
        open_timeout=FRAME_TIMEOUT,
    )
    await ws.send(dumps({"type": "hello", "after": None, "watch": watched}))
    async with asyncio.timeout(FRAME_TIMEOUT):
        while not (raw := str(await ws.recv())).startswith('{"type":"ready"'):
            if raw.startswith(ERROR):
                raise RuntimeError(f"console refused a watch: {raw}")
    return AgentSocket(ws, frozenset(watched))


async def read_agent(agent: AgentSocket, tracker: Tracker) -> None:
    """Counts every frame (the fan-out); parses only this socket's conversations' message events."""
    try:
        async for raw in agent.ws:
            at = time.monotonic()
            agent.frames += 1
            if not isinstance(raw, str) or MESSAGE_CREATED not in raw:
                if isinstance(raw, str) and raw.startswith(('{"type":"resync"', ERROR)):
                    tracker.errors[f"agent {raw[9:].split(chr(34))[0]}"] += 1
                continue
            found = CONVERSATION_RE.search(raw)
            if found is None or found.group(1) not in agent.watched:
                continue
            seq = SEQ_RE.search(raw)
            if seq is not None:
                tracker.on_heard(found.group(1), int(seq.group(1)), at)
    except ConnectionClosed:
        pass
    tracker.on_closed("agent", agent.ws.close_code)


async def keepalive(customers: list[Customer]) -> None:
    """Ping customers that have been quiet (setup of a thousand conversations takes a while)."""
    while True:
        await asyncio.sleep(2)
        now = time.monotonic()
        for customer in customers:
            if now - customer.last_sent > KEEPALIVE_SECONDS:
                customer.last_sent = now
                with contextlib.suppress(ConnectionClosed):
                    await customer.ws.send(dumps({"type": "ping", "t": int(time.time() * 1000)}))


async def paced(
    customers: list[Customer], tracker: Tracker, rate: float, t0: float, total: int
) -> list[float]:
    """Open loop: message i is due at t0 + i / rate, round-robin over the conversations."""
    lags = []
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.monotonic()
        await asyncio.sleep(max(delay, 0))  # sleep(0) still lets the readers run when behind
        lags.append(time.monotonic() - due)
        await send_message(customers[i % len(customers)], tracker)
    return lags


async def closed_loop(customer: Customer, tracker: Tracker, budget: int, end: float) -> None:
    """As fast as acks come back, up to `budget` messages or `end`."""
    for _ in range(budget):
        if time.monotonic() >= end:
            return
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        client_id = f"b{customer.index}-{customer.sent + 1}"
        tracker.waiters[client_id] = waiter
        if not await send_message(customer, tracker):
            return
        try:
            async with asyncio.timeout(FRAME_TIMEOUT):
                await waiter
        except (TimeoutError, RuntimeError):
            return


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def sample_at(moment: float, agents: list[AgentSocket]) -> tuple[float, float, int]:
    """(time, own CPU seconds, agent frames so far) at `moment`."""
    await asyncio.sleep(max(moment - time.monotonic(), 0))
    return time.monotonic(), cpu_seconds(), sum(a.frames for a in agents)


async def run_client(spec: dict[str, Any], conn: Connection) -> None:
    """Set up this process's conversations, report ready, run the load at "go", report the results."""
    raise_fd_limit()
    tracker = Tracker()
    started = time.monotonic()
    first, count = spec["first"], spec["count"]
    customers = await bounded(
        [
            partial(open_customer, spec["customer_url"], spec["customer_origin"], spec["deflate"], i)
            for i in range(first, first + count)
        ],
        CONNECT_CONCURRENCY,
    )
    tasks = [asyncio.create_task(read_customer(c, tracker)) for c in customers]
    tasks.append(asyncio.create_task(keepalive(customers)))
    await bounded([partial(open_conversation, c, tracker) for c in customers], CONNECT_CONCURRENCY)
    groups = [customers[i : i + spec["per_socket"]] for i in range(0, count, spec["per_socket"])]
    agents = await bounded(
        [
            partial(
                open_agent,
                spec["agent_url"],
                spec["agent_origin"],
                spec["cookie"],
                spec["deflate"],
                [c.conversation_id for c in g],
            )
            for g in groups
        ],
        CONNECT_CONCURRENCY,
    )
    tasks += [asyncio.create_task(read_agent(a, tracker)) for a in agents]
    conn.send(("ready", time.monotonic() - started))
    _go, t0 = await asyncio.to_thread(conn.recv)
    window_start, window_end = t0 + spec["warmup"], t0 + spec["warmup"] + spec["seconds"]
    lags: list[float] = []
    if spec["max"]:
        start_sample = await sample_at(t0, agents)
        loops = asyncio.gather(*(closed_loop(c, tracker, BUDGET, window_end) for c in customers))
        # Busy time is measured until the budget is spent or the window ends, whichever is first.
        await asyncio.wait([loops], timeout=max(window_end - time.monotonic(), 0))
        end_sample = await sample_at(0, agents)
        conn.send(("finished", time.monotonic()))
        await loops  # acks still on their way, at most FRAME_TIMEOUT
    else:
        samples = asyncio.gather(sample_at(window_start, agents), sample_at(window_end, agents))
        total = int(spec["rate"] * (spec["warmup"] + spec["seconds"]))
        lags = await paced(customers, tracker, spec["rate"], t0, total)
        start_sample, end_sample = await samples
        conn.send(("finished", time.monotonic()))
    if tracker.sent:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(spec["drain"]):
                await tracker.settled.wait()
    tracker.closing = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await asyncio.gather(
                *(ws.close() for ws in [c.ws for c in customers] + [a.ws for a in agents]),
                return_exceptions=True,
            )
    conn.send(
        (
            "done",
            {
                "setup_seconds": time.monotonic() - started,
                "done": tracker.done,
                "send_times": tracker.send_times,
                "ack_times": tracker.ack_times,
                "lags": lags,
                "errors": dict(tracker.errors),
                # What the run ended with: never acked (by client id), or acked and never heard.
                "missing": {"not acked": sorted(tracker.sent), "acked, not heard": sorted(tracker.acked)},
                "samples": (start_sample, end_sample),
                "agent_sockets": len(agents),
            },
        )
    )


def client_main(spec: dict[str, Any], conn: Connection) -> None:
    """Entry point of a load-generator process; a failure is reported, then raised."""
    try:
        asyncio.run(run_client(spec, conn))
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


# --- the servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    nodes: int
    customer_url: str
    agent_url: str
    agent_origin: str
    cookie: str | None
    customer_pids: tuple[int, ...]  # the node(s) holding the idle customer sockets
    server_pids: tuple[int, ...]
    databases: tuple[str, ...]  # PostgreSQL database names (their backends' CPU is counted)


def clean_env() -> dict[str, str]:
    """This shell's environment without any KEFU_ setting that would leak into the servers."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}


@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[int]:
    """Run a server until the block ends and yield its pid (for RSS and CPU); output goes to `log`."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_ready(ready_url, timeout=60)
            yield proc.pid
        except Exception:
            print(f"--- {' '.join(cmd[:2])}:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def clear_redis_log() -> None:
    """Empty the bench's Redis database of what the nodes left: the event log and rate counters."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(LOG_KEY, *client.scan_iter(match="kefu:limit:*"))
    client.close()


@contextlib.contextmanager
def kefu_target(backend: str, workdir: Path, tag: str) -> Iterator[Target]:
    """One or two `kefu serve` nodes on a fresh database, with a signed-in agent."""
    nodes = 2 if backend == "postgres-redis" else 1
    engine = "sqlite" if backend == "sqlite" else "postgres"
    database = make_database(engine, workdir, [backend])[backend]
    ports = [free_port() for _ in range(nodes)]
    base = f"http://127.0.0.1:{ports[0]}"  # both nodes answer for one public URL, as behind a balancer
    env = clean_env() | {
        "KEFU_DATABASE_URL": database,
        "KEFU_DATA_DIR": str(workdir / backend),
        "KEFU_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
        "KEFU_BASE_URL": base,
        "KEFU_CHAT_ORIGINS": EXCHANGE,
        "KEFU_CHAT_BOT": "false",  # the bot would answer the first message with its own
        "KEFU_LOG_LEVEL": "WARNING",
        "KEFU_SMTP_LISTEN": "",
    }
    if nodes == 2:
        env["KEFU_REDIS_URL"] = REDIS_URL
        clear_redis_log()
    try:
        for args in (
            ["migrate"],
            ["agent", "create", "--email", AGENT_EMAIL, "--name", "Bench", "--password", AGENT_PASSWORD],
        ):
            subprocess.run([BIN / "kefu", *args], env=env, cwd=ROOT, check=True, capture_output=True)
        with contextlib.ExitStack() as stack:
            pids = [
                stack.enter_context(
                    server(
                        [str(BIN / "kefu"), "serve", "--port", str(port), "--no-worker"],
                        env,
                        f"http://127.0.0.1:{port}/healthz",
                        LOGS / f"{backend}-{tag}-node{i}.log",
                    )
                )
                for i, port in enumerate(ports)
            ]
            yield Target(
                name=backend,
                nodes=nodes,
                customer_url=f"ws://127.0.0.1:{ports[0]}/chat/ws",
                agent_url=f"ws://127.0.0.1:{ports[-1]}/console/ws",
                agent_origin=base,
                cookie=login(base),
                customer_pids=(pids[0],),
                server_pids=tuple(pids),
                databases=(database.rsplit("/", 1)[1],) if engine == "postgres" else (),
            )
    finally:
        if engine == "postgres":
            drop_databases([database])
        if nodes == 2:
            clear_redis_log()


def login(base: str) -> str:
    """The agent's console cookie, from the same sign-in a browser does."""
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD},
        headers={"Origin": base},
        timeout=30,
    )
    response.raise_for_status()
    if response.json().get("state") != "active":
        raise RuntimeError(f"the bench agent is not fully signed in: {response.text}")
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


@contextlib.contextmanager
def relay_target(workdir: Path, tag: str) -> Iterator[Target]:
    """bench/chat_relay.py under uvicorn with Kefu's WebSocket implementation, on a fresh database."""
    database = make_database("postgres", workdir, ["relay"])["relay"]
    port = free_port()
    cmd = [str(BIN / "uvicorn"), "bench.chat_relay:app", "--port", str(port), "--ws", "websockets-sansio"]
    cmd += ["--log-level", "warning", "--no-access-log"]
    try:
        with server(
            cmd,
            clean_env() | {"RELAY_DATABASE_URL": database},
            f"http://127.0.0.1:{port}/healthz",
            LOGS / f"relay-{tag}.log",
        ) as pid:
            yield Target(
                name="relay",
                nodes=1,
                customer_url=f"ws://127.0.0.1:{port}/chat/ws",
                agent_url=f"ws://127.0.0.1:{port}/console/ws",
                agent_origin=EXCHANGE,
                cookie=None,
                customer_pids=(pid,),
                server_pids=(pid,),
                databases=(database.rsplit("/", 1)[1],),
            )
    finally:
        drop_databases([database])


# --- measuring -----------------------------------------------------------------------------------


def rss_bytes(pids: tuple[int, ...]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def process_cpu(pids: tuple[int, ...]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of `pids` that still runs."""
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings (a process started in between counts from zero; one that
    ended in between is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postgres_pids(databases: tuple[str, ...]) -> tuple[int, ...]:
    """The PostgreSQL backends connected to the bench databases (not other people's tests)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
                if title.startswith("postgres:") and any(f" {db} " in title for db in databases):
                    pids.append(int(entry.name))
    return tuple(pids)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def idle_memory(target: Target, count: int, deflate: bool) -> float:
    """KB of server RSS per idle customer socket (hello and welcome done, then nothing)."""
    warm = await bounded(
        [partial(open_customer, target.customer_url, EXCHANGE, deflate, i) for i in range(50)], 50
    )
    await asyncio.gather(*(c.ws.close() for c in warm))
    await asyncio.sleep(1)
    before = rss_bytes(target.customer_pids)
    idle = await bounded(
        [partial(open_customer, target.customer_url, EXCHANGE, deflate, i) for i in range(count)],
        CONNECT_CONCURRENCY,
    )
    await asyncio.sleep(2)
    after = rss_bytes(target.customer_pids)
    await asyncio.gather(*(c.ws.close() for c in idle), return_exceptions=True)
    return (after - before) / count / 1024


async def prime_console(target: Target) -> None:
    """One console socket alone first: an agent's first sockets opened at once on PostgreSQL race to
    insert its presence row (kefu.routing.presence.set_presence), and all but one fail."""
    agent = await open_agent(target.agent_url, target.agent_origin, target.cookie, True, [])
    await agent.ws.close()


@dataclass
class Meter:
    """CPU of the servers, their PostgreSQL backends and the whole machine between two moments."""

    target: Target
    marks: list[tuple[float, dict[int, float], dict[int, float], tuple[float, float]]] = field(
        default_factory=list
    )

    def mark(self) -> None:
        pg = process_cpu(postgres_pids(self.target.databases))
        self.marks.append((time.monotonic(), process_cpu(self.target.server_pids), pg, machine_cpu()))

    def shares(self) -> dict[str, float]:
        (t0, s0, p0, (b0, a0)), (t1, s1, p1, (b1, a1)) = self.marks[:2]
        return {
            "server_cpu": spent(s0, s1) / (t1 - t0),
            "postgres_cpu": spent(p0, p1) / (t1 - t0),
            "machine_busy": (b1 - b0) / max(a1 - a0, 1),
        }


def profile(pid: int, name: str, args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
    """With --profile, py-spy samples the server over the window (raw collapsed stacks in LOGS)."""
    if not args.profile:
        return None
    seconds = max(int(args.seconds), 1)
    out = LOGS / f"{name}-{args.conversations}-{'max' if args.max else f'{args.rate:g}'}.raw"
    cmd = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(seconds)]
    return subprocess.Popen(
        [*cmd, "--format", "raw", "--nonblocking", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def receive(conn: Connection, proc: Any, kind: str, timeout: float) -> Any:
    """The next report of a load generator, which must be `kind`."""
    deadline = time.monotonic() + timeout
    while not conn.poll(1):
        if not proc.is_alive():
            raise RuntimeError(f"a load generator died before sending {kind!r}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"a load generator sent no {kind!r} within {timeout:.0f} s")
    got, value = conn.recv()
    if got != kind:
        raise RuntimeError(f"a load generator failed: {value}")
    return value


def drive(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Run the load generators against `target`; aggregate their results over the window."""
    context = multiprocessing.get_context("spawn")
    per_process = math.ceil(args.conversations / args.clients / args.per_socket) * args.per_socket
    pipes, procs = [], []
    for first in range(0, args.conversations, per_process):
        count = min(per_process, args.conversations - first)
        spec = {
            "first": first,
            "count": count,
            "customer_url": target.customer_url,
            "customer_origin": EXCHANGE,
            "agent_url": target.agent_url,
            "agent_origin": target.agent_origin,
            "cookie": target.cookie,
            "per_socket": args.per_socket,
            "rate": args.rate * count / args.conversations,
            "warmup": 0 if args.max else args.warmup,
            "seconds": args.seconds,
            "drain": args.drain,
            "max": args.max,
            "deflate": args.deflate,
        }
        parent, child = context.Pipe()
        proc = context.Process(target=client_main, args=(spec, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    warmup = 0 if args.max else args.warmup
    meter = Meter(target)
    try:
        setup = max(receive(p, c, "ready", 900) for p, c in zip(pipes, procs, strict=True))
        time.sleep(1)
        t0 = time.monotonic() + 0.5
        for pipe in pipes:
            pipe.send(("go", t0))
        time.sleep(max(t0 + warmup - time.monotonic(), 0))
        meter.mark()
        profilers = [profile(pid, f"{target.name}-{i}", args) for i, pid in enumerate(target.server_pids)]
        if not args.max:
            time.sleep(max(t0 + warmup + args.seconds - time.monotonic(), 0))
            meter.mark()
        for pipe, proc in zip(pipes, procs, strict=True):
            receive(pipe, proc, "finished", args.seconds + 120)
        if args.max:
            meter.mark()
        results = [receive(p, c, "done", args.drain + 120) for p, c in zip(pipes, procs, strict=True)]
        for profiler in profilers:
            if profiler is not None:
                profiler.wait(timeout=60)
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    summary = summarise(results, t0 + warmup, None if args.max else t0 + warmup + args.seconds)
    shares = meter.shares()
    # Whatever else ran on the machine meanwhile (other people's tests): it competes for the cores.
    ours = shares["server_cpu"] + shares["postgres_cpu"] + summary["client_cpu"]
    other = max(shares["machine_busy"] * (os.cpu_count() or 1) - ours, 0.0)
    return summary | shares | {"setup_seconds": setup, "other_cpu": other}


def summarise(results: list[dict[str, Any]], start: float, end: float | None) -> dict[str, Any]:
    """Window figures from every generator's raw records (end None: up to the last delivery)."""
    done = [pair for r in results for pair in r["done"]]
    if end is None:  # --max: the run lasts until the last message is delivered
        end = max((heard for _, heard in done), default=start + 1)
    latencies = sorted(heard - sent for sent, heard in done if start <= sent < end)
    sent = sum(1 for r in results for at in r["send_times"] if start <= at < end)
    # Sent in the window and never acked and heard (sockets the server closed included).
    undelivered = sent - len(latencies)
    delivered = sum(1 for _, heard in done if start <= heard <= end)
    acked = sum(1 for r in results for at in r["ack_times"] if start <= at <= end)
    lags = sorted(lag for r in results for lag in r["lags"])
    client_cpu = sum(r["samples"][1][1] - r["samples"][0][1] for r in results)
    frames = sum(r["samples"][1][2] - r["samples"][0][2] for r in results)
    sample_seconds = max(r["samples"][1][0] - r["samples"][0][0] for r in results) or 1.0
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    return {
        "window": end - start,
        "sent": sent,
        "delivered_per_s": delivered / (end - start),
        "acked_per_s": acked / (end - start),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "undelivered": undelivered,
        "lag_p99_ms": percentile(lags, 0.99) * 1000,
        "client_cpu": client_cpu / sample_seconds,
        "agent_frames_per_s": frames / sample_seconds,
        "agent_sockets": sum(r["agent_sockets"] for r in results),
        "errors": dict(errors),
        "missing": {k: [m for r in results for m in r["missing"][k]][:10] for k in results[0]["missing"]},
    }


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """One backend: idle memory first (on a fresh process), then the load."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tag = f"{args.conversations}-{'max' if args.max else f'{args.rate:g}'}"
        servers = relay_target(workdir, tag) if backend == "relay" else kefu_target(backend, workdir, tag)
        with servers as target:
            asyncio.run(prime_console(target))
            kb = asyncio.run(idle_memory(target, args.idle, args.deflate)) if args.idle else math.nan
            result = drive(target, args)
            result["rss_after_mb"] = rss_bytes(target.server_pids) / 2**20
        return result | {"kb_per_idle": kb, "nodes": target.nodes}


def check_budget(args: argparse.Namespace) -> None:
    """Kefu's per-visitor limit caps what one conversation may send in a minute."""
    if args.max:
        return
    seconds = args.warmup + args.seconds
    per_conversation = math.ceil(args.rate * seconds / args.conversations)
    if per_conversation > BUDGET or seconds > 60:
        raise SystemExit(
            f"{args.rate:g} msg/s over {args.conversations} conversations for {seconds:g} s is "
            f"{per_conversation} messages per conversation; Kefu accepts {MESSAGES_PER_MINUTE} a minute "
            f"per visitor, one of which opens the chat. Use more conversations, a lower rate or a "
            f"shorter run (at most 60 s)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500, help="messages per second, all conversations")
    parser.add_argument("--seconds", type=float, default=30, help="measured window")
    parser.add_argument("--warmup", type=float, default=3, help="paced load before the window")
    parser.add_argument("--drain", type=float, default=10, help="wait for stragglers after the window")
    parser.add_argument("--max", action="store_true", help="as fast as acks come back (throughput)")
    parser.add_argument("--backends", default="sqlite,postgres,postgres-redis,relay")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for the memory figure (0: skip)")
    parser.add_argument(
        "--deflate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="offer permessage-deflate, as browsers do",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the servers over the window")
    parser.add_argument("--clients", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--per-socket", type=int, default=WATCHED_PER_SOCKET, help="conversations per agent socket"
    )
    args = parser.parse_args()
    if not 1 <= args.per_socket <= WATCHED_PER_SOCKET:
        parser.error(f"--per-socket must be 1-{WATCHED_PER_SOCKET}")
    check_budget(args)
    raise_fd_limit()
    LOGS.mkdir(exist_ok=True)
    rate = "max" if args.max else f"{args.rate:g}"
    rows = []
    for backend in args.backends.split(","):
        rows.append((backend, bench(backend, args)))
        print(f"{backend}: {json.dumps(rows[-1][1], default=str)}", file=sys.stderr, flush=True)
    relay = next((r for name, r in rows if name == "relay"), None)
    print(
        f"\n{args.conversations} conversations, {math.ceil(args.conversations / args.per_socket)} agent "
        f"sockets, {args.clients} load process(es), {'--max' if args.max else f'{args.seconds:g} s window'}, "
        f"permessage-deflate {'on' if args.deflate else 'off'}\n"
    )
    print(
        "| backend | nodes | conversations | target msg/s | delivered msg/s | vs relay | p50 ms | p99 ms "
        "| undelivered | KB per idle conn |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        versus = f"{r['delivered_per_s'] / relay['delivered_per_s']:.0%}" if relay else "-"
        print(
            f"| {name} | {r['nodes']} | {args.conversations} | {rate} "
            f"| {r['delivered_per_s']:.0f} | {versus} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['undelivered']} | {r['kb_per_idle']:.1f} |"
        )
    print(
        "\n| backend | window s | acked msg/s | max ms | client lag p99 ms | agent frames/s | server CPU "
        "| PostgreSQL CPU | client CPU | other CPU | RSS after MB | setup s | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none"
        print(
            f"| {name} | {r['window']:.1f} | {r['acked_per_s']:.0f} | {r['max_ms']:.0f} "
            f"| {r['lag_p99_ms']:.1f} "
            f"| {r['agent_frames_per_s']:.0f} | {r['server_cpu']:.0%} | {r['postgres_cpu']:.0%} "
            f"| {r['client_cpu']:.0%} | {r['other_cpu']:.0%} | {r['rss_after_mb']:.0f} "
            f"| {r['setup_seconds']:.0f} | {errors} |"
        )
    print(
        f"\nServer output and profiles: {LOGS}. CPU: 100 % is one core of the machine's {os.cpu_count()}; "
        "PostgreSQL counts the backends of the bench database; other CPU is the rest of the machine's "
        "busy time (other programs competing for the cores)."
    )


if __name__ == "__main__":
    main()
