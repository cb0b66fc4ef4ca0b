"""Inbound email throughput: messages per second from SMTP DATA to a stored conversation.

Starts `kefu serve` (HTTP, the SMTP listener and the outbox worker in one process) plus optional
`kefu worker` processes on SQLite and on PostgreSQL, sends N typical messages (about 30 KB: a short
text and one screenshot-sized PNG, each from one of many senders so the per-sender limit never
applies) over SMTP with C concurrent client connections, and waits until every message has become a
conversation. Prints a markdown table for docs/performance.md: SMTP acceptance rate and latency
(durable store before 250), and end-to-end ingest rate (250 → conversation with its attachment).

    .venv/bin/python bench/email_ingest.py [--messages 600] [--concurrency 8] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_write import BIN, ROOT, drop_databases, free_port, make_database, wait_ready
from bench.chat_load import postgres_pids, process_cpu, spent
from kefu.mail.models import InboundEmail, InboundStatus

MAILBOX = "support@bench.kefu.test"
TEXT = (
    "Hello support,\n\nI sent 1,250 USDT on TRC20 to my deposit address three hours ago and it has not "
    "been credited. The transaction is confirmed on the explorer.\n\nTx: "
    "9f2c4e1b7a6d5c3e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6\n\nThanks,\n"
)


def screenshot(seed: int) -> bytes:
    """A ~25 KB PNG (noise does not compress), like a phone screenshot cropped by the customer."""
    rng = random.Random(seed)
    image = Image.new("RGB", (100, 84))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(100 * 84)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Outgoing:
    sender: str
    raw: bytes


def message(index: int, png: bytes) -> Outgoing:
    mail = EmailMessage()
    mail["From"] = f"Customer {index % 300} <customer{index % 300}@example.com>"
    mail["To"] = MAILBOX
    mail["Subject"] = f"Deposit not credited #{index}"
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content(TEXT + "x" * 2000)
    mail.add_attachment(png, maintype="image", subtype="png", filename=f"screenshot-{index}.png")
    return Outgoing(sender=f"customer{index % 300}@example.com", raw=mail.as_bytes(policy=SMTP))


async def send_all(port: int, count: int, concurrency: int) -> tuple[float, list[float]]:
    """Send `count` messages over `concurrency` connections; (seconds, per-message latencies)."""
    pngs = [screenshot(seed) for seed in range(20)]
    # Built before the clock starts: the figure is the server's, not the client's MIME encoder's.
    mails = [message(index, pngs[index % len(pngs)]) for index in range(count)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    latencies: list[float] = []

    async def client() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await smtp.connect()
        try:
            while not queue.empty():
                index = queue.get_nowait()
                started = time.perf_counter()
                mail = mails[index]
                await smtp.sendmail(mail.sender, [MAILBOX], mail.raw)
                latencies.append(time.perf_counter() - started)
        finally:
            with contextlib.suppress(Exception):
                await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def wait_ingested(database_url: str, count: int, limit_seconds: float) -> float:
    """Seconds until `count` messages are ingested (polled every 50 ms)."""
    engine = create_async_engine(database_url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < limit_seconds:
            async with engine.connect() as conn:
                done = await conn.scalar(
                    select(func.count())
                    .select_from(InboundEmail)
                    .where(InboundEmail.status != InboundStatus.RECEIVED)
                )
            if (done or 0) >= count:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise RuntimeError(f"only {done} of {count} messages were ingested in {limit_seconds} s")


@contextlib.contextmanager
def processes(
    commands: list[list[str]], env: dict[str, str], root: Path = ROOT
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for cmd in commands
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def profile(pids: list[int], directory: Path | None, backend: str) -> list[subprocess.Popen[bytes]]:
    """With --profile DIR, py-spy samples every server process until it exits (raw collapsed stacks)."""
    if directory is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(directory / f"{backend}-{index}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index, pid in enumerate(pids)
    ]


def bench_backend(
    backend: str,
    count: int,
    concurrency: int,
    workers: int,
    profile_dir: Path | None = None,
    root: Path = ROOT,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = make_database(backend, workdir, ["kefu"])["kefu"]
        dns = workdir / "dns.json"
        dns.write_text(json.dumps({}))  # no network here: every DNS answer is "no record"
        http_port, smtp_port = free_port(), free_port()
        env = os.environ | {
            "KEFU_DATABASE_URL": database_url,
            "KEFU_DATA_DIR": str(workdir / "data"),
            "KEFU_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "KEFU_LOG_LEVEL": "WARNING",
            "KEFU_SUPPORT_ADDRESSES": MAILBOX,
            "KEFU_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
            "KEFU_DNS_STATIC_FILE": str(dns),
            "KEFU_WORKER_CONCURRENCY": "8",
            "KEFU_WORKER_POLL_SECONDS": "0.05",
            "KEFU_MAIL_TRANSPORT": "file",
        }
        try:
            if root != ROOT:
                env = env | {"PYTHONPATH": str(root)}  # imported ahead of the editable install
            subprocess.run([BIN / "kefu", "migrate"], env=env, cwd=root, check=True, capture_output=True)
            commands = [[str(BIN / "kefu"), "serve", "--port", str(http_port)]]
            commands += [[str(BIN / "kefu"), "worker"] for _ in range(workers - 1)]
            with processes(commands, env, root) as procs:
                wait_ready(f"http://127.0.0.1:{http_port}/healthz")
                time.sleep(1.0)  # the listener starts with the app
                profilers = profile([p.pid for p in procs], profile_dir, backend)
                pids = tuple(p.pid for p in procs)
                database = database_url.rpartition("/")[2]
                before = process_cpu(pids), process_cpu(postgres_pids((database,)))
                sent_seconds, latencies = asyncio.run(send_all(smtp_port, count, concurrency))
                ingest_seconds = asyncio.run(wait_ingested(database_url, count, limit_seconds=600))
                server_cpu = spent(before[0], process_cpu(pids))
                database_cpu = spent(before[1], process_cpu(postgres_pids((database,))))
            for profiler in profilers:
                profiler.wait(timeout=60)
            quantiles = statistics.quantiles(latencies, n=100)
            return {
                "accepted_per_s": count / sent_seconds,
                "p50_ms": quantiles[49] * 1000,
                "p99_ms": quantiles[98] * 1000,
                # From the first message sent to the last one ingested: ingest runs while mail arrives.
                "ingested_per_s": count / (sent_seconds + ingest_seconds),
                "server_ms": server_cpu * 1000 / count,
                "database_ms": database_cpu * 1000 / count if backend == "postgres" else 0.0,
            }
        finally:
            if backend == "postgres":
                drop_databases([database_url])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="processes draining the ingest jobs")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--profile", type=Path, help="py-spy each server process into this directory")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also measure Kefu from this source tree (an export of an older commit) after each backend",
    )
    args = parser.parse_args()
    print(
        f"{args.messages} messages of ~30 KB, {args.concurrency} SMTP connections, "
        f"{args.workers} worker process(es)"
    )
    print(
        "| backend | accepted msg/s (250 after storing) | p50 ms | p99 ms "
        "| ingested msg/s (to conversation) | server CPU ms/msg | PostgreSQL CPU ms/msg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    trees = [("", ROOT)] + ([(" (baseline)", args.baseline.resolve())] if args.baseline else [])
    for backend in args.backends.split(","):
        for label, root in trees:
            r = bench_backend(backend, args.messages, args.concurrency, args.workers, args.profile, root)
            print(
                f"| {backend}{label} | {r['accepted_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
                f"| {r['ingested_per_s']:.0f} | {r['server_ms']:.1f} | {r['database_ms']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
