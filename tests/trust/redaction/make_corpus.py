"""Regenerate corpus_en.jsonl and corpus_zh.jsonl, deterministically.

    .venv/bin/python -m tests.trust.redaction.make_corpus


The tests read the stored files, so a change here shows up as a reviewed diff of the data.
"""

from __future__ import annotations

from tests.trust.redaction import corpus_en, corpus_zh


def main() -> None:
    """Build both corpora and write them next to this module."""
    for corpus in (corpus_en.build(), corpus_zh.build()):
        path = corpus.write()
        secrets = sum(len(e["secrets"]) for e in corpus.entries)  # type: ignore[arg-type, misc]
        print(f"{path.name}: {len(corpus.entries)} entries, {secrets} secrets")


if __name__ == "__main__":
    main()
