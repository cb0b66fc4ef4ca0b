"""Precision and recall of the redactor over a labelled corpus, per kind (exact spans)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kefu.trust.redaction import Redactor, SecretKind

Span = tuple[str, int, int]


@dataclass
class Score:
    """Counts of exact-span matches, per kind; misses and false alarms keep the entry id for messages."""

    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def precision(self, kind: str | None = None) -> float:
        tp, fp = self._get(self.tp, kind), self._get(self.fp, kind)
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, kind: str | None = None) -> float:
        tp, fn = self._get(self.tp, kind), self._get(self.fn, kind)
        return tp / (tp + fn) if tp + fn else 1.0

    def support(self, kind: str | None = None) -> int:
        return self._get(self.tp, kind) + self._get(self.fn, kind)

    @staticmethod
    def _get(counter: Counter[str], kind: str | None) -> int:
        return sum(counter.values()) if kind is None else counter[kind]


def expected_spans(entry: dict[str, object]) -> set[Span]:
    """Every occurrence of every labelled value, as (kind, start, end)."""
    text = str(entry["text"])
    spans: set[Span] = set()
    for secret in entry["secrets"]:  # type: ignore[attr-defined]
        value, start = secret["value"], text.find(secret["value"])
        while start >= 0:
            spans.add((secret["kind"], start, start + len(value)))
            start = text.find(value, start + 1)
    return spans


def score(entries: list[dict[str, object]], redactor: Redactor) -> Score:
    """Run `redactor` over the entries; a finding counts only with the exact labelled span and kind."""
    result = Score()
    for entry in entries:
        text = str(entry["text"])
        redaction = redactor.redact(text)
        found = {(f.kind.value, f.start, f.end) for f in redaction.findings}
        wanted = expected_spans(entry)
        for kind, _start, _end in found & wanted:
            result.tp[kind] += 1
        for kind, start, end in found - wanted:
            result.fp[kind] += 1
            result.errors.append(f"{entry['id']} false alarm {kind}: {text[start:end]!r} in {text[:80]!r}")
        for kind, start, end in wanted - found:
            result.fn[kind] += 1
            result.errors.append(f"{entry['id']} missed {kind}: {text[start:end]!r} in {text[:80]!r}")
        for keep in entry.get("keep", []):  # type: ignore[attr-defined]
            if keep not in redaction.text:
                result.errors.append(f"{entry['id']} lost {keep!r}")
    return result


KINDS = tuple(kind.value for kind in SecretKind)
