"""The console's pages: who may open them, what they show, and that hostile content stays text."""

from __future__ import annotations

import re

import httpx

from kefu.core.clock import FrozenClock
from kefu.runtime import Runtime
from tests.factories import make_agent, make_team, open_conversation
from tests.web.console.conftest import assert_console_page, sign_in

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


async def test_signed_out_browsers_are_sent_to_sign_in(client: httpx.AsyncClient, runtime: Runtime) -> None:
    for path in ["/console", "/console/conversations/KF-00000000", "/console?view=unassigned"]:
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    fragment = await client.get("/console?fragment=list", headers={"hx-request": "true"})
    assert fragment.status_code == 204
    assert fragment.headers["hx-redirect"].startswith("/login")


async def test_sign_in_lands_on_the_console(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    signed_in = await sign_in(client, "li@example.com")
    assert signed_in.headers["location"] == "/console"


async def test_inbox_lists_views_counts_and_conversations(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    li = await make_agent(runtime.sessionmaker, "li@example.com")
    created = await open_conversation(client, li, subject="Withdrawal stuck")
    await sign_in(client, "li@example.com")
    page = await client.get("/console?view=unassigned")
    assert page.status_code == 200
    assert_console_page(page)
    assert str(created["reference"]) in page.text
    assert "Withdrawal stuck" in page.text
    assert re.search(r'data-count="unassigned">1<', page.text)
    listed = await client.get("/console?view=unassigned&fragment=list")
    assert listed.text.lstrip().startswith('<section id="list"')
    counts = await client.get("/console?view=unassigned&fragment=counts")
    assert counts.text.lstrip().startswith('<nav id="views"')


async def test_outsiders_never_see_private_team_conversations(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    vault = await make_team(runtime.sessionmaker, "Vault", private=True)
    insider = await make_agent(runtime.sessionmaker, "in@example.com", teams=(vault,))
    await make_agent(runtime.sessionmaker, "out@example.com")
    secret = await open_conversation(client, insider, subject="Secret matter", team_id=str(vault))
    await sign_in(client, "out@example.com")
    for view in ["all_open", "unassigned", "my_teams"]:
        page = await client.get(f"/console?view={view}")
        assert str(secret["reference"]) not in page.text
    searched = await client.get("/console", params={"q": str(secret["reference"])})
    assert f"/console/conversations/{secret['reference']}" not in searched.text
    assert "Secret matter" not in searched.text
    opened = await client.get(f"/console/conversations/{secret['reference']}")
    assert opened.status_code == 404
    assert "Secret matter" not in opened.text


async def test_conversation_page_shows_timeline_form_and_exchange_facts(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    from kefu.core.clock import utcnow
    from kefu.integrations.exchange.demo_data import ALICE, build_demo_data

    li = await make_agent(runtime.sessionmaker, "li@example.com")
    order_id = next(o.order_id for o in build_demo_data(utcnow()).orders if o.uid == ALICE)
    created = await open_conversation(
        client,
        li,
        subject="Order failed",
        category="trading",
        form_fields={"order_id": order_id},
        customer={"exchange_uid": ALICE, "email": "alice@example.com"},
    )
    await sign_in(client, "li@example.com")
    page = await client.get(f"/console/conversations/{created['reference']}")
    assert page.status_code == 200, page.text
    assert_console_page(page)
    assert "My deposit is missing" in page.text  # the first message
    assert ALICE in page.text  # the customer panel: identities and exchange account
    assert order_id in page.text  # the order named in the form, looked up
    timeline = await client.get(f"/console/conversations/{created['reference']}?fragment=timeline")
    assert timeline.text.lstrip().startswith('<ol id="timeline"')


async def test_hostile_content_is_shown_as_text(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    li = await make_agent(runtime.sessionmaker, "li@example.com")
    created = await open_conversation(
        client, li, subject=HOSTILE, body=HOSTILE, customer={"email": "x@example.com", "name": HOSTILE}
    )
    await sign_in(client, "li@example.com")
    for url in [
        f"/console/conversations/{created['reference']}",
        "/console?view=unassigned",
        "/console?q=%3Cscript",
    ]:
        page = await client.get(url)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert_console_page(page)


async def test_hostile_query_strings_never_break_the_inbox(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    await make_agent(runtime.sessionmaker, "li@example.com")
    await sign_in(client, "li@example.com")
    for query in [
        "view=%00",
        "view=by_channel&channel=pigeon",
        "view=by_category",
        "cursor=not-a-cursor",
        "q=%25%5F%5C",
        "q=" + "x" * 201,
        "q=%00",
        "fragment=../../etc",
    ]:
        page = await client.get(f"/console?{query}")
        assert page.status_code in (200, 400, 422), (query, page.status_code)
    for reference in ["KF-" + "9" * 40, "%00", "..%2F..%2Fetc"]:
        missing = await client.get(f"/console/conversations/{reference}")
        assert missing.status_code in (400, 404)


async def test_saved_views_show_their_own_filters_and_stay_private(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    li = await make_agent(runtime.sessionmaker, "li@example.com")
    await make_agent(runtime.sessionmaker, "wang@example.com")
    trading = await open_conversation(client, li, subject="Order stuck", category="trading")
    general = await open_conversation(client, li, subject="Just a question")
    created = await client.post(
        "/api/v1/views",
        json={"name": "Trading only", "filters": {"category": "trading"}},
        headers=li.headers,
    )
    assert created.status_code == 201, created.text
    view_id = created.json()["id"]
    await sign_in(client, "li@example.com")
    page = await client.get(f"/console?view=saved&saved={view_id}")
    assert "Trading only" in page.text
    assert f"/console/conversations/{trading['reference']}" in page.text
    assert f"/console/conversations/{general['reference']}" not in page.text
    client.cookies.clear()
    await sign_in(client, "wang@example.com")
    foreign = await client.get(f"/console?view=saved&saved={view_id}")
    assert foreign.status_code == 200
    assert "Trading only" not in foreign.text  # not listed, and the URL falls back to "mine"
    assert f"/console/conversations/{trading['reference']}" not in foreign.text


async def test_chat_bot_messages_and_diagnostics_are_labelled_and_escaped(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    import uuid

    from kefu.chat.actions import do_post_message, do_record_diagnostics
    from kefu.chat.identity import ChatCustomer
    from kefu.conversations.states import AuthorKind
    from kefu.conversations.timeline import NewMessage, append_message
    from kefu.db.uow import transaction
    from kefu.inboxes.models import ChannelKind

    await make_agent(runtime.sessionmaker, "li@example.com")
    async with transaction(runtime.sessionmaker) as session:
        posted = await do_post_message(
            session, ChatCustomer(uuid.uuid4()), body="2FA code rejected", client_id="c-1", locale="en"
        )
        await append_message(
            session,
            posted.conversation,
            None,
            NewMessage(body="Here are some articles", data={"bot": {"choices": [], "articles": []}}),
            author=AuthorKind.BOT,
            channel=ChannelKind.CHAT,
        )
        facts = {"page_url": f"https://www.example.com/{HOSTILE}", "clock_offset_ms": -95_000, "rtt_ms": 120}
        await do_record_diagnostics(session, posted.conversation, facts)
        reference = posted.conversation.reference
    await sign_in(client, "li@example.com")
    page = await client.get(f"/console/conversations/{reference}")
    assert page.status_code == 200
    assert_console_page(page)
    assert '<span class="who">Bot</span>' in page.text
    assert "-95.0 s" in page.text
    assert "2FA codes may fail" in page.text
    assert "<script>alert(1)" not in page.text
