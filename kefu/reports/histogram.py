"""A fixed log-scale histogram of durations, so medians and p90s merge across any rollup rows.

Bucket 0 holds durations under one second; bucket b ≥ 1 holds [2^((b-1)/4), 2^(b/4)) seconds, i.e.
four buckets per doubling. A percentile is reported as the geometric middle of its bucket, so it is
within ±9 % (2^(1/8)) of the exact nearest-rank value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Final

BUCKETS_PER_DOUBLING: Final = 4
RELATIVE_RESOLUTION: Final = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1  # ≈ 0.0905


def bucket_of(seconds: float) -> int:
    """The bucket index of a duration (negative durations count as zero)."""
    if seconds < 1:
        return 0
    return 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds) + 1e-9)


def bucket_value(bucket: int) -> float:
    """The duration a bucket stands for: the geometric middle of its bounds (0 for bucket 0)."""
    if bucket <= 0:
        return 0.0
    return float(2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank `q` quantile (0 < q ≤ 1) of a histogram; None if it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total - 1e-9))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(histogram))  # pragma: no cover - unreachable (seen reaches total)


def merge(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """(bucket, count) pairs summed by bucket."""
    merged: dict[int, int] = {}
    for bucket, count in pairs:
        merged[bucket] = merged.get(bucket, 0) + int(count)
    return merged
