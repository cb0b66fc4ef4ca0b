"""Incident vocabulary and the two status machines (incidents and planned maintenance)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class IncidentKind(StrEnum):
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"  # planned work has no severity of its own


class IncidentStatus(StrEnum):
    # Incidents
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    # Maintenance
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


# The outbox job that tells one linked conversation its incident is over.
NOTIFY_JOB: Final = "incident.notify"

INCIDENT_SEVERITIES: Final = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
# Most severe first: the banner and component status pick the first match.
SEVERITY_RANK: Final = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.MAINTENANCE: 3}

INITIAL_STATUS: Final = {
    IncidentKind.INCIDENT: IncidentStatus.INVESTIGATING,
    IncidentKind.MAINTENANCE: IncidentStatus.SCHEDULED,
}
FINAL_STATUS: Final = {
    IncidentKind.INCIDENT: IncidentStatus.RESOLVED,
    IncidentKind.MAINTENANCE: IncidentStatus.COMPLETED,
}

# Forward moves, plus monitoring → identified when a fix does not hold. Final states are final:
# customers were already told it is over, so a recurrence is a new incident.
_TRANSITIONS: Final[dict[IncidentStatus, frozenset[IncidentStatus]]] = {
    IncidentStatus.INVESTIGATING: frozenset(
        {IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING, IncidentStatus.RESOLVED}
    ),
    IncidentStatus.IDENTIFIED: frozenset({IncidentStatus.MONITORING, IncidentStatus.RESOLVED}),
    IncidentStatus.MONITORING: frozenset({IncidentStatus.IDENTIFIED, IncidentStatus.RESOLVED}),
    IncidentStatus.RESOLVED: frozenset(),
    # Scheduled → completed directly covers work finished (or called off) before it was marked started.
    IncidentStatus.SCHEDULED: frozenset({IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED}),
    IncidentStatus.IN_PROGRESS: frozenset({IncidentStatus.COMPLETED}),
    IncidentStatus.COMPLETED: frozenset(),
}

STATUSES_OF: Final = {
    IncidentKind.INCIDENT: frozenset(
        {
            IncidentStatus.INVESTIGATING,
            IncidentStatus.IDENTIFIED,
            IncidentStatus.MONITORING,
            IncidentStatus.RESOLVED,
        }
    ),
    IncidentKind.MAINTENANCE: frozenset(
        {IncidentStatus.SCHEDULED, IncidentStatus.IN_PROGRESS, IncidentStatus.COMPLETED}
    ),
}


def is_final(status: IncidentStatus) -> bool:
    """Whether `status` ends an incident or maintenance."""
    return status in (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED)


def can_transition(kind: IncidentKind, current: IncidentStatus, target: IncidentStatus) -> bool:
    """Whether an update may move a `kind` from `current` to `target` (same status: a plain update)."""
    if target not in STATUSES_OF[kind]:
        return False
    if current == target:
        return not is_final(current)
    return target in _TRANSITIONS[current]
