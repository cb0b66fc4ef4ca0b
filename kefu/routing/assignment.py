"""Choosing an agent for a conversation: pure functions over a snapshot of candidates (no I/O)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from kefu.routing.models import LanguageMatch, Presence, RoutingMode

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An agent of the team as routing sees it: open work (`load`), limit, languages, presence."""

    agent_id: uuid.UUID
    load: int
    capacity: int
    languages: tuple[str, ...]
    last_assigned_at: datetime | None
    status: Presence = Presence.ONLINE

    @property
    def eligible(self) -> bool:
        """Online and below capacity: only such agents receive work."""
        return self.status == Presence.ONLINE and self.load < self.capacity


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-", 1)[0]


def speaks(languages: Sequence[str], locale: str) -> bool:
    """Whether any of `languages` matches `locale` exactly or by primary subtag ("zh" ~ "zh-CN")."""
    wanted = _primary(locale)
    return bool(wanted) and any(_primary(language) == wanted for language in languages)


def _by_language(
    eligible: list[Candidate], locale: str | None, language_match: LanguageMatch
) -> list[Candidate]:
    if language_match == LanguageMatch.IGNORE or not locale:
        return eligible
    speakers = [c for c in eligible if speaks(c.languages, locale)]
    if speakers or language_match == LanguageMatch.REQUIRE:
        return speakers
    return eligible


def _round_robin(eligible: list[Candidate], cursor: uuid.UUID | None) -> Candidate:
    # A stable order (by id) makes "the next one after the cursor" well defined whoever joins or leaves.
    ordered = sorted(eligible, key=lambda c: c.agent_id)
    if cursor is not None:
        for candidate in ordered:
            if candidate.agent_id > cursor:
                return candidate
    return ordered[0]


def _least_loaded(eligible: list[Candidate]) -> Candidate:
    # Fractions, not floats: 1/3 and 2/6 are the same load and must tie exactly.
    return min(
        eligible,
        key=lambda c: (Fraction(c.load, c.capacity), c.last_assigned_at or _NEVER, c.agent_id),
    )


def choose_assignee(
    mode: RoutingMode,
    candidates: Sequence[Candidate],
    locale: str | None,
    cursor: uuid.UUID | None,
    language_match: LanguageMatch = LanguageMatch.PREFER,
) -> uuid.UUID | None:
    """The agent who should get the conversation, or None (manual mode, or nobody eligible)."""
    if mode == RoutingMode.MANUAL:
        return None
    eligible = _by_language([c for c in candidates if c.eligible], locale, language_match)
    if not eligible:
        return None
    if mode == RoutingMode.ROUND_ROBIN:
        return _round_robin(eligible, cursor).agent_id
    return _least_loaded(eligible).agent_id
