"""Every email support sends shows the recipient's current anti-phishing code, read at send time."""

from __future__ import annotations

from email.message import EmailMessage

from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.mail.outbox import queue_email
from kefu.settings import Settings
from kefu.trust.anti_phishing import do_set_code
from kefu.trust.keys import keyring_from_settings
from tests.conftest import Database
from tests.mail.conftest import mail_worker, run_all, smtp_settings, smtp_transport
from tests.mail.sink import SmtpSink


async def test_support_email_carries_the_customers_code(
    db: Database, settings: Settings, smtp_sink: SmtpSink, clock: FrozenClock
) -> None:
    settings = smtp_settings(settings, smtp_sink.port)
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "alice@example.com")
        await do_set_code(
            session,
            CustomerActor(contact_id=contact_id),
            "Blue Otter 42",
            keyring=keyring_from_settings(settings),
            settings=settings,
        )
        await queue_email(
            session,
            template="identity_code",
            to="Alice@Example.com",
            locale="en",
            context={"reference": "KF-12345678", "code": "004217", "minutes": 10},
            idempotency_key="identity-code:test",
        )
    assert await run_all(mail_worker(db, settings, smtp_transport(smtp_sink.port))) == 2
    bodies = {}
    for received in smtp_sink.received:
        message = received.message()
        text = message.get_body(("plain",))
        assert isinstance(text, EmailMessage)
        bodies[message["Subject"]] = text.get_content()
    code_mail = next(body for subject, body in bodies.items() if "verification code" in subject)
    assert code_mail.splitlines()[0] == "Your anti-phishing code: Blue Otter 42"
    assert "004217" in code_mail
    changed = next(body for subject, body in bodies.items() if "was changed" in subject)
    assert changed.splitlines()[0] == "Your anti-phishing code: Blue Otter 42"
