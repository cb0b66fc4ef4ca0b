"""Building and reading the labelled corpora: entries are messages with the secrets they contain."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Corpus:
    """Entries of one language; `secret()` adds a message with secrets, `keep()` one without."""

    language: str
    entries: list[dict[str, object]] = field(default_factory=list)

    def secret(self, text: str, *, note: str = "", **secrets: str) -> None:
        """A message whose secrets (kind=value, value verbatim in text) must all be redacted.

        `note` says why an entry is a known miss (kept so the figures stay honest).
        """
        labelled = [{"kind": kind, "value": value} for kind, value in secrets.items()]
        for item in labelled:
            assert str(item["value"]) in text, (text, item)
        self._add(text, "secret", labelled, [])
        if note:
            self.entries[-1]["note"] = note

    def keep(self, text: str, *keep: str) -> None:
        """A message without secrets; `keep` are substrings support needs (must survive verbatim)."""
        for item in keep:
            assert item in text, (text, item)
        self._add(text, "must_not_touch" if keep else "ordinary", [], list(keep))

    def _add(self, text: str, group: str, secrets: list[dict[str, str]], keep: list[str]) -> None:
        number = len(self.entries) + 1
        entry: dict[str, object] = {
            "id": f"{self.language}-{number:03d}",
            "group": group,
            "text": text,
            "secrets": secrets,
        }
        if keep:
            entry["keep"] = keep
        self.entries.append(entry)

    def write(self) -> Path:
        """Write `corpus_<language>.jsonl` next to this module."""
        path = HERE / f"corpus_{self.language}.jsonl"
        lines = [json.dumps(e, ensure_ascii=False) for e in self.entries]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def load(language: str) -> list[dict[str, object]]:
    """The stored entries of `corpus_<language>.jsonl`."""
    path = HERE / f"corpus_{language}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
