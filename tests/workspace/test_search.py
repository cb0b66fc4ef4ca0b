"""Search: classification, exact lookups, text over subjects and bodies, visibility, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.auth.actors import Actor, CustomerActor
from kefu.core.errors import InvalidInput
from kefu.workspace.search import MAX_QUERY, QueryKind, classify, search_conversations
from tests.workspace.conftest import TX_HASH, World


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("KF-10000003", QueryKind.REFERENCE),
        ("kf-10000003", QueryKind.REFERENCE),
        ("alice@example.com", QueryKind.EMAIL),
        ("8800000001", QueryKind.ORDER_ID),
        ("ORD-2024-77", QueryKind.ORDER_ID),
        (TX_HASH, QueryKind.TX_HASH),
        ("5" * 40, QueryKind.TX_HASH),
        ("deposit", QueryKind.TEXT),
        ("my deposit 42 is missing", QueryKind.TEXT),
        ("abcdefghijklmnopqrstuvwxyzabcdefgh", QueryKind.TEXT),  # long word, no digit
    ],
)
def test_classify(query: str, kind: QueryKind) -> None:
    assert classify(query) == kind


async def _names(world: World, actor: Actor, query: str) -> tuple[QueryKind, set[str]]:
    async with world.db.sessionmaker() as session:
        found = await search_conversations(session, actor, query, limit=50)
    return found.kind, {world.name_of(row.reference) for row in found.rows}


async def test_exact_lookups(world: World) -> None:
    me = world.staff["me"].actor
    ref = world.references["closed"]
    assert await _names(world, me, ref.lower()) == (QueryKind.REFERENCE, {"closed"})
    kind, alices = await _names(world, me, "ALICE@example.com")
    assert kind == QueryKind.EMAIL
    assert "mine_open" in alices
    assert "team_hold" not in alices
    assert await _names(world, me, "8800000001") == (QueryKind.ORDER_ID, {"trading"})
    # Explorers show hex hashes in either case.
    assert await _names(world, me, TX_HASH.upper().replace("0X", "0x")) == (
        QueryKind.TX_HASH,
        {"new_unassigned"},
    )
    # Unknown identifiers: nothing (an unknown reference is not searched as text).
    assert await _names(world, me, "KF-99999999") == (QueryKind.REFERENCE, set())
    assert await _names(world, me, "nobody@example.com") == (QueryKind.EMAIL, set())


async def test_text_searches_subjects_and_bodies_notes_only_for_staff(world: World) -> None:
    me = world.staff["me"].actor
    assert await _names(world, me, "OLD QUESTION") == (QueryKind.TEXT, {"closed"})
    assert await _names(world, me, "internal memo mine_hold") == (QueryKind.TEXT, {"mine_hold"})
    alice = CustomerActor(contact_id=world.contacts["alice"])
    assert await _names(world, alice, "internal memo") == (QueryKind.TEXT, set())
    kind, found = await _names(world, alice, "customer text of")
    assert kind == QueryKind.TEXT
    assert found
    assert all(name not in ("team_hold", "team_pending_unassigned") for name in found)
    # An identifier-shaped word that is no order id falls back to text.
    assert await _names(world, me, "mine_open") == (QueryKind.TEXT, {"mine_open"})


async def test_private_team_conversations_are_never_found_by_outsiders(world: World) -> None:
    me, insider = world.staff["me"].actor, world.staff["insider"].actor
    for query in (world.references["secret"], "takeover", "internal memo secret_new", "phish"):
        assert (await _names(world, me, query))[1] == set(), query
        assert (await _names(world, insider, query))[1], query
    _kind, alices = await _names(world, me, "alice@example.com")
    assert not {"secret", "secret_new"} & alices


@pytest.mark.parametrize("query", ["%", "%%", "\\", "%_\\", "' OR 1=1 --", "KF-%", "@", "a@b"])
async def test_wildcards_and_quotes_are_literal(world: World, query: str) -> None:
    assert (await _names(world, world.staff["boss"].actor, query))[1] == set()


async def test_underscore_matches_only_a_literal_underscore(world: World) -> None:
    # Bodies name their conversation ("customer text of mine_open"): only names with "_" match.
    _kind, found = await _names(world, world.staff["boss"].actor, "_")
    assert found == {name for name in world.references if "_" in name}


@pytest.mark.parametrize("query", ["a\x00b", "x" * (MAX_QUERY + 1), "y" * 10_000])
async def test_hostile_queries_are_invalid_input(world: World, query: str) -> None:
    async with world.db.sessionmaker() as session:
        with pytest.raises(InvalidInput):
            await search_conversations(session, world.staff["me"].actor, query)


async def test_blank_query_and_bad_limit(world: World) -> None:
    async with world.db.sessionmaker() as session:
        assert (await search_conversations(session, world.staff["me"].actor, "   ")).rows == []
        for limit in (0, 101):
            with pytest.raises(InvalidInput):
                await search_conversations(session, world.staff["me"].actor, "x", limit=limit)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=MAX_QUERY))
async def test_any_text_is_answered_or_refused_cleanly(world: World, query: str) -> None:
    async with world.db.sessionmaker() as session:
        try:
            found = await search_conversations(session, world.staff["boss"].actor, query)
        except InvalidInput:
            assert "\x00" in query
        else:
            assert len(found.rows) <= 20
