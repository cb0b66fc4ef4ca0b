"""admin teams and agents

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 15:40:00
"""

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No schema change: team and agent administration (kefu/staff) uses the existing columns
    # (agents.is_active, the TOTP columns, teams.is_private, team_members); who deactivated whom
    # and when is in the audit log (agent.deactivated / agent.reactivated).
    pass


def downgrade() -> None:
    pass
