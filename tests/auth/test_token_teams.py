"""A token's actor carries every team of its agent (the lookup joins memberships in one query)."""

from __future__ import annotations

from kefu.auth.tokens import resolve_api_token
from tests.conftest import Database
from tests.factories import make_agent, make_team


async def test_token_actor_has_all_teams_and_none_when_teamless(db: Database) -> None:
    first = await make_team(db.sessionmaker, "Funds")
    second = await make_team(db.sessionmaker, "Security", private=True)
    member = await make_agent(db.sessionmaker, "two@kefu.test", teams=(first, second))
    loner = await make_agent(db.sessionmaker, "none@kefu.test")
    async with db.sessionmaker() as session:
        actor = await resolve_api_token(session, member.token)
        alone = await resolve_api_token(session, loner.token)
    assert actor is not None
    assert actor.team_ids == frozenset({first, second})
    assert alone is not None
    assert alone.team_ids == frozenset()
    assert actor.scopes == alone.scopes  # repeated rows do not change what the token may do
