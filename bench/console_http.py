"""The console pages over real HTTP: `kefu serve` on the seeded PostgreSQL bench database.

Uses the database bench/console.py seeds (100,000 conversations, 1,000,000 messages), gives its
busiest agent a password, starts `kefu serve --no-worker`, signs in through the API and requests,
one at a time, each inbox view's list fragment, the full inbox page (list, counts, saved views) and
conversation pages. Prints p50/p99 of the server time (the Server-Timing header: until the response
starts) and of the round trip seen by the client.

    .venv/bin/python bench/console_http.py [--iterations 200] [--reseed]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.console import VIEWS, actors, prepare
from kefu.auth.models import Agent
from kefu.auth.passwords import hash_password
from kefu.conversations.access import visible_conversations
from kefu.conversations.models import Conversation
from kefu.db.engine import create_engine, create_sessionmaker

KEFU = str(Path(sys.executable).parent / "kefu")
PASSWORD = "bench-console-password-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _agent_and_references(url: str, sample: int) -> tuple[str, list[str]]:
    """The busiest agent's email (now with a known password) and references it may open."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    actor = (await actors(maker))["agent"]
    async with maker() as session, session.begin():
        await session.execute(
            update(Agent).where(Agent.id == actor.agent_id).values(password_hash=hash_password(PASSWORD))
        )
        email = await session.scalar(select(Agent.email).where(Agent.id == actor.agent_id))
        references = list(
            await session.scalars(
                select(Conversation.reference).where(visible_conversations(actor)).limit(sample * 20)
            )
        )
    await engine.dispose()
    assert email is not None
    return email, random.Random(3).sample(references, min(sample, len(references)))


def _server_ms(response: httpx.Response) -> float:
    timing = response.headers["server-timing"]
    return float(timing.split("dur=")[1])


async def _measure(http: httpx.AsyncClient, paths: list[str]) -> tuple[list[float], list[float]]:
    server, trip = [], []
    for path in paths:
        started = time.perf_counter()
        response = await http.get(path)
        trip.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        server.append(_server_ms(response))
    return server, trip


def _row(label: str, server: list[float], trip: list[float]) -> str:
    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    figures = " | ".join(f"{pct(values, q):.1f}" for values in (server, trip) for q in (50, 99))
    return f"| {label} | {figures} |"


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [KEFU, "serve", "--port", str(port), "--no-worker"], env=env, stdout=subprocess.DEVNULL
    )


async def run(args: argparse.Namespace) -> None:
    url = await prepare(args.conversations, args.messages_per, args.reseed)
    email, references = await _agent_and_references(url, args.iterations)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")} | {
        "KEFU_DATABASE_URL": url,
        "KEFU_SECRET_KEY": "bench-console-secret-0123456789abcdefghijkl",
        "KEFU_BASE_URL": base,
        "KEFU_LOG_LEVEL": "WARNING",
    }
    server = _start_server(port, env)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(150):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            signed = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            await _measure(http, ["/console?view=mine"] * 10)  # warm up caches and connections
            print(f"{args.iterations} requests each, one at a time; times in ms")
            print("| page | server p50 | server p99 | round trip p50 | round trip p99 |")
            print("|---|---|---|---|---|")
            for view in VIEWS:
                query = f"view={view.name.value}"
                if view.channel is not None:
                    query += f"&channel={view.channel.value}"
                if view.category is not None:
                    query += f"&category={view.category.value}"
                paths = [f"/console?{query}&fragment=list"] * args.iterations
                print(_row(f"inbox list: {query}", *await _measure(http, paths)), flush=True)
            full = ["/console?view=mine"] * args.iterations
            print(_row("inbox page (list + counts + saved views)", *await _measure(http, full)), flush=True)
            pages = [f"/console/conversations/{ref}" for ref in references]
            print(_row("conversation page (demo exchange port)", *await _measure(http, pages)), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per", type=int, default=10)
    parser.add_argument("--reseed", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
