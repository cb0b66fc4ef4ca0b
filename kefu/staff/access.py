"""Who may administer people: administrators change teams and agents; supervisors read teams."""

from __future__ import annotations

from kefu.auth.actors import Actor, AgentActor
from kefu.auth.roles import Scope
from kefu.core.errors import PermissionDenied


def check_admin(actor: Actor) -> AgentActor:
    """The actor if it is an administrator (with the admin scope, for tokens); PermissionDenied otherwise."""
    if isinstance(actor, AgentActor) and actor.is_admin and actor.has_scope(Scope.ADMIN):
        return actor
    raise PermissionDenied("Only administrators can manage teams and agents.")


def check_team_reader(actor: Actor) -> AgentActor:
    """The actor if it may list every team with its members (supervisors and administrators)."""
    if isinstance(actor, AgentActor) and actor.is_supervisor_or_admin:
        return actor
    raise PermissionDenied("Only supervisors and administrators can list teams and their members.")
