"""The event envelope: immutable, strictly validated, and lossless through JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kefu.events.names import EventName
from kefu.events.types import Event, agent_topic, conversation_topic, inbox_topic, team_topic


def test_names_are_noun_dot_verb_past() -> None:
    for name in EventName:
        noun, _, verb = name.value.partition(".")
        assert noun
        assert verb
        assert name.value == name.value.lower()
    assert EventName("message.created") is EventName.MESSAGE_CREATED


def test_json_round_trip_keeps_every_field() -> None:
    conversation = uuid.uuid4()
    event = Event(
        name=EventName.MESSAGE_CREATED,
        topics=(conversation_topic(conversation), inbox_topic("inbox-1")),
        payload={"seq": 3, "body": "你好", "nested": {"ok": True}},
    )
    again = Event.from_json(event.to_json())
    assert again == event
    assert again.occurred_at.tzinfo is not None
    assert uuid.UUID(event.id).version == 7
    assert Event.from_json(event.to_json().decode()) == event


def test_each_event_gets_its_own_id() -> None:
    a = Event(name=EventName.CONVERSATION_CREATED, topics=("team:t1",))
    b = Event(name=EventName.CONVERSATION_CREATED, topics=("team:t1",))
    assert a.id != b.id


def test_events_are_frozen() -> None:
    event = Event(name=EventName.CONVERSATION_UPDATED, topics=("conversation:1",))
    with pytest.raises(ValidationError):
        event.name = EventName.MESSAGE_CREATED  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"name": "conversation.exploded", "topics": ["conversation:1"]}',
        b'{"name": "message.created", "topics": []}',
        b'{"name": "message.created", "topics": ["no-kind"]}',
        b'{"name": "message.created", "topics": ["Conversation:1"]}',
        b'{"name": "message.created", "topics": ["-x:1"]}',
        b'{"name": "message.created", "topics": ["conversation:"]}',
        b'{"name": "message.created", "topics": ["conversation:has space"]}',
        b'{"name": "message.created", "topics": ["conversation:1"], "occurred_at": "2025-01-01T00:00:00"}',
        b'{"name": "message.created", "topics": ["conversation:1"], "payload": [1]}',
        b'{"name": "message.created", "topics": ["conversation:1"], "extra": 1}',
        b'{"name": "message.created", "topics": ["conversation:1"], "id": ""}',
    ],
)
def test_malformed_json_is_rejected(data: bytes) -> None:
    with pytest.raises(ValidationError):
        Event.from_json(data)


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Event(
            name=EventName.MESSAGE_CREATED,
            topics=("conversation:1",),
            occurred_at=datetime(2025, 1, 1),
        )
    aware = Event(
        name=EventName.MESSAGE_CREATED,
        topics=("conversation:1",),
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert aware.occurred_at == datetime(2025, 1, 1, tzinfo=UTC)


def test_topic_helpers() -> None:
    ident = uuid.UUID("0190a6d0-0000-7000-8000-000000000001")
    assert conversation_topic(ident) == f"conversation:{ident}"
    assert inbox_topic(ident) == f"inbox:{ident}"
    assert agent_topic("a1") == "agent:a1"
    assert team_topic("t1") == "team:t1"
    # Every helper's output is a valid topic, as are the recipient module's kinds.
    Event(name=EventName.MESSAGE_CREATED, topics=("customer-conversation:1", "conversations:all"))
    Event(name=EventName.AGENT_SESSIONS_REVOKED, topics=(agent_topic(ident), team_topic(ident)))
    with pytest.raises(ValueError):
        agent_topic("")
