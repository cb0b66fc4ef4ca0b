"""API shapes of team and agent administration; input is strict (unknown keys are refused)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kefu.auth.roles import Role

TEAM_NAME_MAX: Final = 100
SLUG_MAX: Final = 60
AGENT_NAME_MAX: Final = 200
EMAIL_MAX: Final = 320
# More teams than any support desk has; bounds a membership list sent in one request.
MAX_TEAMS_PER_AGENT: Final = 100
SLUG_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$"


def _one_line(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be one line of printable text")
    return value


TeamName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TEAM_NAME_MAX),
    AfterValidator(_one_line),
]
Slug = Annotated[str, StringConstraints(max_length=SLUG_MAX, pattern=SLUG_PATTERN)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamCreate(_Input):
    name: TeamName
    # Left out: made from the name. The slug names the team in KEFU_SUPPORT_ADDRESSES.
    slug: Slug | None = None
    is_private: bool = False


class TeamUpdate(_Input):
    """Only the keys sent change; a rename keeps the slug unless a new one is sent."""

    name: TeamName | None = None
    slug: Slug | None = None
    is_private: bool | None = None


class TeamMemberIn(_Input):
    agent_id: uuid.UUID


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    is_private: bool
    member_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class AgentProfileUpdate(_Input):
    """Only the keys sent change."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=AGENT_NAME_MAX)] | None = None
    email: Annotated[str, StringConstraints(min_length=3, max_length=EMAIL_MAX)] | None = None


class AgentTeamsIn(_Input):
    """The complete set of teams the agent belongs to afterwards."""

    team_ids: list[uuid.UUID] = Field(max_length=MAX_TEAMS_PER_AGENT)


class AgentAdminOut(BaseModel):
    """An agent as administrators see it (inactive ones too)."""

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    second_factor_enabled: bool
    team_ids: list[uuid.UUID]
    last_login_at: datetime | None
    created_at: datetime
