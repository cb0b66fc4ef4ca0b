"""Shapes of the sign-in, second-factor and API-token routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kefu.auth.roles import Role, Scope

Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=16)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Input):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    password: Password


class CodeIn(_Input):
    code: Code


class ConfirmTotpIn(_Input):
    code: Code
    password: Password


class PasswordChangeIn(_Input):
    current_password: Password
    new_password: Password


class TokenCreateIn(_Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    current_password: Password


class AgentCreateIn(_Input):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Role = Role.AGENT
    password: Password


class RoleChangeIn(_Input):
    role: Role


class AgentOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    second_factor_enabled: bool


class SessionOut(BaseModel):
    state: str
    agent: AgentOut
    csrf_token: str | None = None


class EnrollmentOut(BaseModel):
    secret: str
    provisioning_uri: str


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str  # shown once
