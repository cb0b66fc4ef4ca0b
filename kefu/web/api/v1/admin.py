"""Administration over the API: agents and roles, the outbox's dead jobs, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from kefu.audit.service import list_audit_events
from kefu.auth.access import access_agent_by_id
from kefu.auth.actions import do_create_agent
from kefu.auth.models import Agent
from kefu.jobs.actions import do_retry_dead_job
from kefu.jobs.models import JobStatus
from kefu.jobs.service import count_by_status, list_jobs
from kefu.staff.agents import do_change_agent_role
from kefu.web.api.v1.auth import agent_out
from kefu.web.api.v1.auth_schemas import AgentCreateIn, AgentOut, RoleChangeIn
from kefu.web.deps import Admin, AgentReader, DbSession

router = APIRouter(tags=["admin"])


class JobOut(BaseModel):
    id: uuid.UUID
    name: str
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class JobsOut(BaseModel):
    counts: dict[str, int]
    items: list[JobOut]


class AuditEventOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    details: dict[str, Any]


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(actor: AgentReader, session: DbSession) -> list[AgentOut]:
    """Staff: the active agents (to assign conversations and mention colleagues)."""
    del actor  # any agent with read scope may see colleagues' names
    rows = await session.scalars(select(Agent).where(Agent.is_active.is_(True)).order_by(Agent.name))
    return [agent_out(a) for a in rows]


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent_route(agent_id: uuid.UUID, actor: AgentReader, session: DbSession) -> AgentOut:
    """Supervisors and admins see any agent; an agent sees itself (404 otherwise)."""
    return agent_out(await access_agent_by_id(session, actor, agent_id))


@router.post("/agents", status_code=201, response_model=AgentOut)
async def create_agent(body: AgentCreateIn, actor: Admin, session: DbSession) -> AgentOut:
    """Admins create agents (audited); admins and KYC reviewers enrol 2FA at first sign-in."""
    agent = await do_create_agent(
        session, email=body.email, name=body.name, role=body.role, password=body.password, actor=actor
    )
    return agent_out(agent)


@router.put("/agents/{agent_id}/role", response_model=AgentOut)
async def change_role(agent_id: uuid.UUID, body: RoleChangeIn, actor: Admin, session: DbSession) -> AgentOut:
    """Admins change an agent's role (audited; 409 for demoting oneself or the last admin)."""
    return agent_out(await do_change_agent_role(session, actor, agent_id, body.role))


@router.get("/admin/jobs", response_model=JobsOut)
async def jobs(
    actor: Admin,
    session: DbSession,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsOut:
    """Admins: outbox jobs by status (dead ones need attention) and the count of each status."""
    del actor
    counts = await count_by_status(session)
    rows = await list_jobs(session, status=status, limit=limit)
    return JobsOut(
        counts={s.value: n for s, n in counts.items()},
        items=[JobOut.model_validate(j, from_attributes=True) for j in rows],
    )


@router.post("/admin/jobs/{job_id}/retry", response_model=JobOut)
async def retry_job(job_id: uuid.UUID, actor: Admin, session: DbSession) -> JobOut:
    """Admins put a dead job back in the queue with a fresh set of attempts."""
    del actor
    j = await do_retry_dead_job(session, job_id)
    return JobOut.model_validate(j, from_attributes=True)


@router.get("/admin/audit", response_model=list[AuditEventOut])
async def audit_log(
    actor: Admin,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=100)] = None,
    target_type: Annotated[str | None, Query(max_length=50)] = None,
    target_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Admins read the audit log, newest first, filtered by action and target."""
    del actor
    rows = await list_audit_events(
        session, action=action, target_type=target_type, target_id=target_id, limit=limit
    )
    return [AuditEventOut.model_validate(r, from_attributes=True) for r in rows]
