"""Search tests run on the shared databases, which carry the full-text objects migrations create."""

from __future__ import annotations

import pytest

from tests.conftest import Database


@pytest.fixture
def search_db(db: Database) -> Database:
    """`db`: the shared fixture already has the search schema and empties the FTS5 table."""
    return db
