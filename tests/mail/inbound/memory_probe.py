"""Run by test_fuzz in a subprocess: parse bombs and random mutations under an address-space cap.

`python -m tests.mail.inbound.memory_probe CAP_MB SEED COUNT` exits 0 and prints "ok" when every
input parsed without a parser_error inside the cap (a MemoryError would surface as one).
"""

from __future__ import annotations

import random
import resource
import sys

from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import parse_email
from tests.mail.inbound.samples import deep_nesting, huge_base64, many_parts, many_received, seeds


def mutate(data: bytes, rng: random.Random) -> bytes:
    """`data` with a few random byte flips, cuts, insertions and duplicated lines."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            out.extend(rng.randbytes(16))
        position = rng.randrange(len(out))
        choice = rng.randrange(4)
        if choice == 0:
            out[position] = rng.randrange(256)
        elif choice == 1:
            del out[position:]
        elif choice == 2:
            out[position:position] = rng.randbytes(rng.randint(1, 32))
        else:
            start = out.rfind(b"\n", 0, position) + 1
            end = out.find(b"\n", position)
            # Capped, so repeated duplication cannot itself exhaust the memory under test.
            line = bytes(out[start : end + 1 if end >= 0 else len(out)])[:1000]
            out[start:start] = line * rng.randint(1, 200)
    return bytes(out)


def main() -> int:
    cap_mb, seed, count = (int(arg) for arg in sys.argv[1:4])
    cap = cap_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    bombs = [huge_base64(50_000_000), many_parts(10_000), deep_nesting(100), many_received(5000)]
    bombs.append(b"Content-Type: text/html\n\n" + b"<div>" * 200_000)
    for raw in bombs:
        if Problem.PARSER_ERROR in parse_email(raw).problems:
            print("parser_error on a bomb", len(raw))
            return 1
    del bombs
    rng = random.Random(seed)
    samples = list(seeds().values())
    for _ in range(count):
        raw = mutate(rng.choice(samples), rng)
        if Problem.PARSER_ERROR in parse_email(raw).problems:
            print("parser_error on a mutation", raw[:200])
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
