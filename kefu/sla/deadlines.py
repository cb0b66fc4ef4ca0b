"""The clock arithmetic of one conversation's SLA row: start, pause, resume, achieve, stop, breach.

Pure (no database): every function takes the `ConversationSla` row and, where business time is
counted, the team's `BusinessCalendar`. Deadlines are instants; a pause shifts a deadline by the
business time it lasted, so waiting on the customer never counts against the team.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import structlog

from kefu.schedules.calendar import BusinessCalendar, NeverOpen
from kefu.sla.models import ClockState, ConversationSla, SlaPolicy, Target

log = structlog.get_logger(__name__)

# Warn before a deadline by 20% of the target, at most 15 minutes (wall-clock time).
WARN_FRACTION: Final = 0.2
WARN_MAX: Final = timedelta(minutes=15)
_LIVE = (ClockState.RUNNING, ClockState.PAUSED)


def warning_window(minutes: int) -> timedelta:
    """How long before a deadline of a `minutes` target the warning goes out."""
    return min(WARN_MAX, timedelta(minutes=minutes * WARN_FRACTION))


def policy_matches(policy: SlaPolicy, *, priority: str, category: str, channel: str) -> bool:
    """Whether each non-empty condition list of `policy` contains the conversation's value."""
    return all(
        not allowed or value in allowed
        for allowed, value in (
            (policy.priorities, priority),
            (policy.categories, category),
            (policy.channels, channel),
        )
    )


def pick_policy(
    policies: Sequence[SlaPolicy], *, priority: str, category: str, channel: str
) -> SlaPolicy | None:
    """The first active policy (in the given order) whose conditions match; None if none does."""
    for policy in policies:
        if policy.is_active and policy_matches(policy, priority=priority, category=category, channel=channel):
            return policy
    return None


def policy_targets(policy: SlaPolicy | None) -> dict[str, int]:
    """The targets of `policy` in minutes, by target name (absent: no target)."""
    if policy is None:
        return {}
    found = {
        Target.FIRST_RESPONSE.value: policy.first_response_minutes,
        Target.NEXT_RESPONSE.value: policy.next_response_minutes,
        Target.RESOLUTION.value: policy.resolution_minutes,
    }
    return {name: minutes for name, minutes in found.items() if minutes is not None}


def _state(row: ConversationSla, target: Target) -> ClockState | None:
    value = getattr(row, f"{target.value}_state")
    return None if value is None else ClockState(value)


def _due(row: ConversationSla, target: Target) -> datetime | None:
    due: datetime | None = getattr(row, f"{target.value}_due_at")
    return due


def _set(row: ConversationSla, target: Target, state: ClockState | None, due: datetime | None) -> None:
    setattr(row, f"{target.value}_state", None if state is None else state.value)
    setattr(row, f"{target.value}_due_at", due)


def _deadline(calendar: BusinessCalendar, start: datetime, delta: timedelta) -> datetime | None:
    """`start` plus `delta` of business time; None (no deadline) if the calendar is never open."""
    try:
        return calendar.add_business_time(start, delta)
    except NeverOpen:
        # Exceptions closed every day for over a year: better no deadline than a failed reply.
        log.warning("sla_calendar_never_open")
        return None


def _minutes(targets: Mapping[str, Any], target: Target) -> int | None:
    value = targets.get(target.value)
    return None if value is None else int(value)


def apply_targets(
    row: ConversationSla,
    calendar: BusinessCalendar,
    targets: Mapping[str, Any],
    *,
    responded: bool,
    finished: bool,
) -> None:
    """(Re)compute every live deadline from the conversation's start (less paused time) for `targets`.

    `responded`: an agent has replied already; `finished`: the conversation is solved or closed.
    Outcomes already recorded (achieved, breached) are kept.
    """
    row.targets = dict(targets)
    paused = timedelta(seconds=row.paused_seconds)
    for target in Target:
        minutes = _minutes(targets, target)
        state = _state(row, target)
        if minutes is None:
            if state in _LIVE:
                _set(row, target, None, None)
                setattr(row, f"{target.value}_breached", False)
            continue
        if state is None and not finished:
            if target == Target.FIRST_RESPONSE and not responded:
                state = ClockState.RUNNING
            elif target == Target.RESOLUTION:
                state = ClockState.PAUSED if row.paused_at is not None else ClockState.RUNNING
        if state not in _LIVE:
            continue
        if target == Target.FIRST_RESPONSE:
            due = _deadline(calendar, row.started_at, timedelta(minutes=minutes))
        elif target == Target.RESOLUTION:
            due = _deadline(calendar, row.started_at, timedelta(minutes=minutes) + paused)
        else:
            # Counted from the customer's message; pauses inside the cycle are not tracked apart.
            begin = row.next_response_started_at or row.started_at
            due = _deadline(calendar, begin, timedelta(minutes=minutes))
        _set(row, target, state, due)


def pause(row: ConversationSla, now: datetime) -> None:
    """Waiting on the customer: next-response and resolution clocks stop counting."""
    if row.paused_at is not None:
        return
    row.paused_at = now
    for target in (Target.NEXT_RESPONSE, Target.RESOLUTION):
        if _state(row, target) == ClockState.RUNNING:
            _set(row, target, ClockState.PAUSED, _due(row, target))


def _shift(
    calendar: BusinessCalendar, due: datetime | None, since: datetime, by: timedelta
) -> datetime | None:
    """`due` moved later by `by` of business time, unless it had already passed at `since`."""
    if due is None or due <= since:
        return due
    return _deadline(calendar, due, by)


def resume(row: ConversationSla, calendar: BusinessCalendar, now: datetime) -> None:
    """The customer answered (or the status moved on): paused clocks run again, shifted by the pause."""
    if row.paused_at is None:
        return
    paused_at = row.paused_at
    lasted = max(calendar.business_time_between(paused_at, now), timedelta(0))
    row.paused_seconds += int(lasted.total_seconds())
    row.paused_at = None
    for target in (Target.NEXT_RESPONSE, Target.RESOLUTION):
        if _state(row, target) == ClockState.PAUSED:
            _set(row, target, ClockState.RUNNING, _shift(calendar, _due(row, target), paused_at, lasted))


def achieve_response(row: ConversationSla, at: datetime) -> None:
    """An agent replied at `at`: first and next response are met (or missed, if late)."""
    if _state(row, Target.FIRST_RESPONSE) in _LIVE:
        due = _due(row, Target.FIRST_RESPONSE)
        row.first_response_at = at
        row.first_response_breached = row.first_response_breached or (due is not None and at > due)
        _set(row, Target.FIRST_RESPONSE, ClockState.ACHIEVED, due)
    if _state(row, Target.NEXT_RESPONSE) in _LIVE:
        due = _due(row, Target.NEXT_RESPONSE)
        late = row.next_response_breached or (due is not None and at > due)
        row.next_response_breached = late
        if late:
            row.next_response_missed += 1
        else:
            row.next_response_met += 1
        _set(row, Target.NEXT_RESPONSE, ClockState.ACHIEVED, due)


def start_next_response(row: ConversationSla, calendar: BusinessCalendar, at: datetime) -> None:
    """A customer wrote at `at` after an agent's reply: the next-response clock starts (if idle)."""
    minutes = _minutes(row.targets, Target.NEXT_RESPONSE)
    if minutes is None or _state(row, Target.NEXT_RESPONSE) in _LIVE:
        return
    row.next_response_started_at = at
    row.next_response_breached = False
    _set(
        row,
        Target.NEXT_RESPONSE,
        ClockState.RUNNING,
        _deadline(calendar, at, timedelta(minutes=minutes)),
    )


def stop(row: ConversationSla, calendar: BusinessCalendar, now: datetime) -> None:
    """Solved or closed: resolution is achieved (on time or not), the response clocks stop."""
    resume(row, calendar, now)
    if _state(row, Target.FIRST_RESPONSE) in _LIVE:
        _set(row, Target.FIRST_RESPONSE, ClockState.STOPPED, _due(row, Target.FIRST_RESPONSE))
    if _state(row, Target.NEXT_RESPONSE) in _LIVE:
        if row.next_response_breached:
            row.next_response_missed += 1
        _set(row, Target.NEXT_RESPONSE, ClockState.STOPPED, _due(row, Target.NEXT_RESPONSE))
    if _state(row, Target.RESOLUTION) in _LIVE:
        due = _due(row, Target.RESOLUTION)
        row.resolution_at = now
        row.resolution_breached = row.resolution_breached or (due is not None and now > due)
        _set(row, Target.RESOLUTION, ClockState.ACHIEVED, due)


def reopen(row: ConversationSla, calendar: BusinessCalendar, now: datetime) -> None:
    """A solved conversation is open again: resolution runs on, the solved time not counted."""
    solved_at = row.resolution_at
    if _state(row, Target.RESOLUTION) != ClockState.ACHIEVED or solved_at is None:
        return
    lasted = max(calendar.business_time_between(solved_at, now), timedelta(0))
    row.paused_seconds += int(lasted.total_seconds())
    row.resolution_at = None
    due = _shift(calendar, _due(row, Target.RESOLUTION), solved_at, lasted)
    _set(row, Target.RESOLUTION, ClockState.RUNNING, due)


def mark_breaches(row: ConversationSla, now: datetime) -> list[tuple[Target, datetime]]:
    """Flag running clocks whose deadline has passed; returns (target, deadline) of each new breach."""
    found: list[tuple[Target, datetime]] = []
    for target in Target:
        due = _due(row, target)
        flag = f"{target.value}_breached"
        if (
            _state(row, target) == ClockState.RUNNING
            and due is not None
            and due <= now
            and not getattr(row, flag)
        ):
            setattr(row, flag, True)
            found.append((target, due))
            if row.breached_at is None or due < row.breached_at:
                row.breached_at = due
    refresh(row)
    return found


def refresh(row: ConversationSla) -> None:
    """Recompute `next_due_at`, `warn_at` and `overdue` from the clocks (a new deadline re-arms warning)."""
    candidates: list[tuple[datetime, Target]] = []
    overdue = False
    for target in Target:
        due = _due(row, target)
        if _state(row, target) != ClockState.RUNNING or due is None:
            continue
        if getattr(row, f"{target.value}_breached"):
            overdue = True
        else:
            candidates.append((due, target))
    row.overdue = overdue
    previous = (row.next_due_at, row.next_due_target)
    if candidates:
        due, target = min(candidates)
        minutes = _minutes(row.targets, target) or 0
        row.next_due_at, row.next_due_target = due, target.value
        row.warn_at = due - warning_window(minutes)
    else:
        row.next_due_at = row.next_due_target = row.warn_at = None
    if (row.next_due_at, row.next_due_target) != previous:
        row.warned_at = None
    if row.breached_at is None:
        breaches = [
            _due(row, t) for t in Target if getattr(row, f"{t.value}_breached") and _due(row, t) is not None
        ]
        row.breached_at = min((d for d in breaches if d is not None), default=None)
