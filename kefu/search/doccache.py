"""Parsed terms of recently ranked documents, kept per process so a query does not re-split them.

Entries are keyed by document id and checked against a version (the row's `updated_at`), so a
document re-indexed by another process is re-read on its next use; a change made in this process
drops the entry at once and again after commit. Least recently used entries go first.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit
from kefu.search.ranking import Candidate

# Bounded by count: ~5 KB per article of ~130 body terms (measured), so ~50 MB at the default.
DEFAULT_MAX_DOCUMENTS: Final = 10_000


class DocumentCache:
    """Candidates by document id, valid for one version of the document."""

    def __init__(self, max_documents: int = DEFAULT_MAX_DOCUMENTS) -> None:
        self._max = max_documents
        self._entries: OrderedDict[uuid.UUID, tuple[str, Candidate]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, doc_id: uuid.UUID, version: str) -> Candidate | None:
        """The cached candidate of this version of the document, if any."""
        found = self._entries.get(doc_id)
        if found is None or found[0] != version:
            return None
        self._entries.move_to_end(doc_id)
        return found[1]

    def put(self, doc_id: uuid.UUID, version: str, candidate: Candidate) -> None:
        """Remember a parsed document (evicting the least recently used beyond the bound)."""
        self._entries[doc_id] = (version, candidate)
        self._entries.move_to_end(doc_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, doc_id: uuid.UUID) -> None:
        """Drop a document (any version)."""
        self._entries.pop(doc_id, None)

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()


documents = DocumentCache()


def forget_document_after_commit(session: AsyncSession, doc_id: uuid.UUID) -> None:
    """Drop a re-indexed or removed document now and once `session` commits."""
    documents.forget(doc_id)

    async def forget() -> None:
        documents.forget(doc_id)

    after_commit(session, forget)
