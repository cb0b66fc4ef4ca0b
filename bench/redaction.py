"""Throughput of secret redaction on one core, over chat-like text with occasional secrets.

    .venv/bin/python bench/redaction.py [--messages 20000] [--secret-rate 0.02] [--seed 7]

Messages are drawn from the labelled corpora in tests/trust/redaction (ordinary zh/en support messages,
ones full of what support needs — tx hashes, addresses, order ids — and, at `--secret-rate`, ones
holding a seed phrase, key, password, code or card). Passes: each message redacted on its own (the
ingest path), all messages joined into one text (a long email thread), plain chat only (no hashes, ids
or secrets), and each detector alone over the joined text (where the time goes). Times are CPU time of
this process, so other load on a shared machine counts less.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kefu.trust.redaction import Redactor
from kefu.trust.redaction.cards import find_cards
from kefu.trust.redaction.codes import find_codes
from kefu.trust.redaction.credentials import find_api_secrets, find_passwords
from kefu.trust.redaction.keys import find_base58_keys, find_hex_keys, find_keystores
from kefu.trust.redaction.kinds import Finding
from kefu.trust.redaction.mnemonics import find_mnemonics

CORPUS_DIR = Path(__file__).resolve().parents[1] / "tests" / "trust" / "redaction"


def load(
    language: str, groups: tuple[str, ...] = ("ordinary", "must_not_touch")
) -> tuple[list[str], list[str]]:
    """(messages of `groups`, messages with secrets) of one corpus."""
    ordinary: list[str] = []
    secret: list[str] = []
    for line in (CORPUS_DIR / f"corpus_{language}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            if entry["secrets"]:
                secret.append(entry["text"])
            elif entry["group"] in groups:
                ordinary.append(entry["text"])
    return ordinary, secret


def build(
    count: int, secret_rate: float, seed: int, groups: tuple[str, ...] = ("ordinary", "must_not_touch")
) -> list[str]:
    """`count` messages, half English and half Chinese, a `secret_rate` share of them with secrets."""
    rng = random.Random(seed)
    pools = [load("en", groups), load("zh", groups)]
    messages: list[str] = []
    for i in range(count):
        ordinary, secret = pools[i % 2]
        messages.append(rng.choice(secret if rng.random() < secret_rate else ordinary))
    return messages


def timed(label: str, run: Callable[[], object], nbytes: int, calls: int) -> tuple[str, float, float, float]:
    """Best of three runs in CPU seconds of this process (other load on the machine does not count):
    (label, seconds, MB/s, µs per call)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return label, best, nbytes / best / 1e6, best / calls * 1e6


def main() -> None:
    """Print a table of redaction throughput."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--secret-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    messages = build(args.messages, args.secret_rate, args.seed)
    joined = "\n\n".join(messages)
    nbytes = sum(len(m.encode()) for m in messages)
    redactor = Redactor()
    redactor.redact(joined)  # load the wordlists and compile the lazy patterns once

    def per_message(batch: list[str]) -> Callable[[], None]:
        def run() -> None:
            for message in batch:
                redactor.redact(message)

        return run

    chat = build(args.messages, 0.0, args.seed, groups=("ordinary",))
    chat_bytes = sum(len(m.encode()) for m in chat)

    detectors: dict[str, Callable[[str], Iterable[Finding]]] = {
        "mnemonics": find_mnemonics, "hex keys": find_hex_keys, "base58 keys": find_base58_keys,
        "keystores": find_keystores, "cards": find_cards, "passwords": find_passwords,
        "codes": find_codes, "api secrets": find_api_secrets,
    }  # fmt: skip
    rows = [
        timed("per message", per_message(messages), nbytes, len(messages)),
        timed("joined text", lambda: redactor.redact(joined), nbytes, 1),
        timed("plain chat only", per_message(chat), chat_bytes, len(chat)),
    ]
    rows += [timed(f"  {name}", lambda f=f: list(f(joined)), nbytes, 1) for name, f in detectors.items()]  # type: ignore[misc]
    found = sum(len(redactor.redact(m).findings) for m in messages)
    print(f"{len(messages)} messages, {nbytes / 1e6:.2f} MB UTF-8, {found} secrets redacted")
    print("one core, CPU seconds of this process, best of three")
    print(f"{'pass':<16}{'seconds':>9}{'MB/s':>9}{'µs/call':>11}")
    for label, seconds, mbps, micros in rows:
        print(f"{label:<16}{seconds:>9.3f}{mbps:>9.1f}{micros:>11.1f}")


if __name__ == "__main__":
    main()
