"""Transports against real peers: an aiosmtpd server over loopback TCP, and the file system."""

from __future__ import annotations

import asyncio
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from pydantic import SecretStr

from kefu.mail.compose import compose
from kefu.mail.factory import create_mail_transport, outbox_directory
from kefu.mail.file import FileTransport
from kefu.mail.render import Rendered
from kefu.mail.smtp import SmtpTransport
from kefu.mail.transport import PermanentMailError, TransientMailError, message_bytes
from kefu.settings import Settings
from tests.mail.conftest import smtp_transport
from tests.mail.sink import SmtpSink, closed_port


def message(
    settings: Settings, to: str = "alice@example.com", message_id: str = "<m1@kefu.test>"
) -> EmailMessage:
    rendered = Rendered(subject="Hello", text="Hi.\n.\nA dot line.\n", html="<p>Hi.</p>\n", locale="en")
    sent_at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    return compose(settings, rendered, to=to, message_id=message_id, sent_at=sent_at)


async def test_smtp_delivers_the_exact_bytes(mail_settings: Settings, smtp_sink: SmtpSink) -> None:
    sent = message(mail_settings)
    await smtp_transport(smtp_sink.port).send(sent)
    [received] = smtp_sink.received
    assert received.mail_from == "support@kefu.test"
    assert received.rcpt_tos == ("alice@example.com",)
    assert received.data.rstrip(b"\r\n") == message_bytes(sent).rstrip(b"\r\n")  # dot-stuffing undone
    assert received.message()["Message-ID"] == "<m1@kefu.test>"


async def test_relay_down_is_transient(mail_settings: Settings) -> None:
    sock, port = closed_port()
    with sock, pytest.raises(TransientMailError, match="SMTPConnect"):
        await smtp_transport(port).send(message(mail_settings))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("550 5.1.1 No such user here", PermanentMailError),
        ("553 5.1.3 Bad address syntax", PermanentMailError),
        ("450 4.2.1 Mailbox busy, try later", TransientMailError),
    ],
)
async def test_refused_recipient(
    mail_settings: Settings, smtp_sink: SmtpSink, reply: str, error: type[Exception]
) -> None:
    smtp_sink.refuse_recipient("gone@example.com", reply)
    with pytest.raises(error, match=reply.split()[0]):
        await smtp_transport(smtp_sink.port).send(message(mail_settings, to="gone@example.com"))
    assert smtp_sink.received == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [("554 5.6.0 Content rejected", PermanentMailError), ("451 4.3.0 Try again later", TransientMailError)],
)
async def test_refused_data(
    mail_settings: Settings, smtp_sink: SmtpSink, reply: str, error: type[Exception]
) -> None:
    smtp_sink.refuse_data(reply)
    with pytest.raises(error, match=reply.split()[0]):
        await smtp_transport(smtp_sink.port).send(message(mail_settings))


async def test_required_starttls_is_never_skipped(mail_settings: Settings, smtp_sink: SmtpSink) -> None:
    # The sink offers no STARTTLS: the message must not go out in the clear.
    with pytest.raises(TransientMailError):
        await smtp_transport(smtp_sink.port, security="starttls").send(message(mail_settings))
    assert smtp_sink.received == []


async def test_authentication_the_relay_does_not_offer_is_transient(
    mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    # Credentials are an operator's fix away: retry, never drop the email.
    transport = smtp_transport(smtp_sink.port, username="kefu", password=SecretStr("hunter2"))
    with pytest.raises(TransientMailError):
        await transport.send(message(mail_settings))
    assert smtp_sink.received == []


async def test_file_transport_writes_one_parseable_eml_per_message_id(
    mail_settings: Settings, tmp_path: Path
) -> None:
    transport = FileTransport(tmp_path / "outbox")
    sent = message(mail_settings)
    await transport.send(sent)
    await transport.send(sent)  # a resend after a crash overwrites, it does not duplicate
    await transport.send(message(mail_settings, message_id="<m2@kefu.test>"))
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    assert transport.path_for(sent) in files
    parsed = BytesParser(policy=email.policy.default).parsebytes(transport.path_for(sent).read_bytes())
    assert parsed["Message-ID"] == "<m1@kefu.test>"
    assert parsed["To"] == "alice@example.com"
    assert parsed.get_content_type() == "multipart/alternative"
    assert not parsed.defects


async def test_file_transport_reports_a_disk_it_cannot_write_as_transient(
    mail_settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(TransientMailError, match="cannot write"):
        await FileTransport(blocker / "outbox").send(message(mail_settings))


def test_the_settings_choose_the_transport(mail_settings: Settings) -> None:
    smtp = create_mail_transport(mail_settings.model_copy(update={"smtp_security": "tls", "smtp_port": 465}))
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.port, smtp.security, smtp.timeout) == (465, "tls", 5.0)
    file = create_mail_transport(mail_settings.model_copy(update={"mail_transport": "file"}))
    assert isinstance(file, FileTransport)
    assert file.directory == outbox_directory(mail_settings) == mail_settings.data_dir / "mail" / "outbox"


async def test_a_relay_that_never_answers_is_transient_and_bounded(mail_settings: Settings) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept the connection, never greet
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(5):
            with pytest.raises(TransientMailError, match="Timeout"):
                await SmtpTransport(host="127.0.0.1", port=port, timeout=0.3).send(message(mail_settings))
    finally:
        server.close()
        await server.wait_closed()
