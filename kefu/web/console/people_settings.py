"""Console settings for people: teams (supervisors read, administrators change) and agents and roles
(administrators only), and the official channels' address named after them.

Pages only read. Each team and agent is rendered with its API representation in a `data-item`
attribute and kefu/web/static/people_settings.js sends every change to `/api/v1/teams` and
`/api/v1/agents` (session cookie + CSRF header), so validation, guard rails and audit are the API's.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.auth.passwords import MIN_PASSWORD_LENGTH
from kefu.auth.roles import ROLES_REQUIRING_2FA, Role
from kefu.staff.schemas import AGENT_NAME_MAX, EMAIL_MAX, SLUG_MAX, TEAM_NAME_MAX
from kefu.staff.service import count_open_by_team, list_admin_agents, list_teams
from kefu.web.console.channels_settings import CHANNELS_SETTINGS_PATH, require_admin_page
from kefu.web.console.context import Console, ConsoleDep
from kefu.web.console.settings import SETTINGS_PATH, page, require_supervisor
from kefu.web.deps import DbSession

router = APIRouter()

TEAMS_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/teams"
AGENTS_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/agents"
OFFICIAL_CHANNELS_PATH: Final = f"{SETTINGS_PATH}/official-channels"


def role_labels(console: Console) -> dict[str, str]:
    """Each role as the role select shows it."""
    t = console.page.t
    return {
        Role.AGENT.value: t.gettext("Agent"),
        Role.SUPERVISOR.value: t.gettext("Supervisor"),
        Role.ADMIN.value: t.gettext("Administrator"),
        Role.KYC_REVIEWER.value: t.gettext("KYC reviewer"),
    }


@router.get(TEAMS_SETTINGS_PATH)
async def teams_page(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors see every team with its members; administrators also create, rename, delete teams
    and add or remove members."""
    require_supervisor(console)
    teams = await list_teams(session)
    agents = await list_admin_agents(session)
    return page(
        console,
        "teams.html",
        "teams",
        teams=[team.model_dump(mode="json") for team in teams],
        agent_names={str(agent.id): agent.name for agent in agents},
        inactive={str(agent.id) for agent in agents if not agent.is_active},
        active_agents=[agent for agent in agents if agent.is_active],
        open_counts={str(team_id): n for team_id, n in (await count_open_by_team(session)).items()},
        can_manage=console.actor.is_admin,
        name_max=TEAM_NAME_MAX,
        slug_max=SLUG_MAX,
    )


@router.get(AGENTS_SETTINGS_PATH)
async def agents_page(console: ConsoleDep, session: DbSession) -> Response:
    """Administrators: every agent (deactivated ones too), their role, teams and second factor; the
    form that creates an agent with an initial password."""
    require_admin_page(console)
    agents = await list_admin_agents(session)
    teams = await list_teams(session)
    return page(
        console,
        "agents.html",
        "agents",
        agents=[agent.model_dump(mode="json") for agent in agents],
        teams=teams,
        team_names={str(team.id): team.name for team in teams},
        roles=role_labels(console),
        roles_requiring_2fa={role.value for role in ROLES_REQUIRING_2FA},
        me=str(console.actor.agent_id),
        name_max=AGENT_NAME_MAX,
        email_max=EMAIL_MAX,
        password_min=MIN_PASSWORD_LENGTH,
    )


@router.get(OFFICIAL_CHANNELS_PATH)
async def official_channels_page(console: ConsoleDep) -> Response:
    """The registry of official channels lives at /console/settings/channels (administrators)."""
    require_admin_page(console)
    return console.page.redirect(CHANNELS_SETTINGS_PATH)
