"""Tables of this domain (filled in by its issue-3 work)."""

from __future__ import annotations
