"""Knowledge-base tables (filled in by the knowledge-base work)."""

from __future__ import annotations
