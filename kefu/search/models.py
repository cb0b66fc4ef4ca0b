"""Search index tables (filled in by the search work)."""

from __future__ import annotations
