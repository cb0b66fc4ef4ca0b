"""`kefu keys generate` and `kefu keys rotate`: the master keys of identity documents and anti-phishing
codes (KEFU_DOCUMENT_KEYS; runbook in docs/account-recovery.md, "Key rotation")."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer

from kefu.cli_support import checked_settings, err

keys_app = typer.Typer(
    help="Master keys of identity documents and anti-phishing codes (KEFU_DOCUMENT_KEYS).",
    no_args_is_help=True,
)


@keys_app.command("generate")
def keys_generate(
    key_id: Annotated[
        str, typer.Option("--key-id", help="Id of the new key (A-Z a-z 0-9 _ -), e.g. the date: k2026-11.")
    ],
) -> None:
    """Print a new 32-byte master key entry "id:BASE64" (put it first in KEFU_DOCUMENT_KEYS)."""
    from kefu.storage.envelope import generate_key_setting

    try:
        typer.echo(generate_key_setting(key_id))
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every identity document, anti-phishing code, channel credential and webhook signing secret
    under the active (first) key; safe to rerun."""
    from kefu.channels.credentials import rotate_inbox_secrets
    from kefu.db.engine import create_engine, create_sessionmaker
    from kefu.db.uow import transaction
    from kefu.recovery.rotation import RotationReport, rotate_document_keys
    from kefu.storage.factory import create_blob_store
    from kefu.trust.anti_phishing import rotate_codes
    from kefu.trust.keys import keyring_from_settings
    from kefu.webhooks.actions import rotate_endpoint_secrets

    settings = checked_settings()
    try:
        keyring = keyring_from_settings(settings)
    except ValueError as exc:
        err.print(f"[red]KEFU_DOCUMENT_KEYS: {exc}[/red]")
        raise typer.Exit(2) from None

    async def run() -> tuple[RotationReport, int, list[uuid.UUID]]:
        engine = create_engine(settings.database_url)
        blobs = create_blob_store(settings)
        maker = create_sessionmaker(engine)
        try:
            report = await rotate_document_keys(maker, blobs, keyring)
            async with transaction(maker) as session:
                codes, failed_codes = await rotate_codes(session, keyring)
                inboxes, failed_inboxes = await rotate_inbox_secrets(session, keyring)
                hooks, failed_hooks = await rotate_endpoint_secrets(session, keyring)
            return report, codes + inboxes + hooks, failed_codes + failed_inboxes + failed_hooks
        finally:
            await blobs.close()
            await engine.dispose()

    report, codes, failed_codes = asyncio.run(run())
    err.print(f"Re-wrapped {report.rewrapped} document(s) under key {report.active_key_id!r}.")
    err.print(f"Re-wrapped {codes} anti-phishing code(s), channel credential(s) and webhook secret(s).")
    for attachment_id, reason in sorted(report.failed.items()):
        err.print(f"[red]Could not re-wrap attachment {attachment_id}: {reason}[/red]")
    for record_id in failed_codes:
        err.print(f"[red]Could not re-wrap the sealed secret of {record_id} (contact or inbox)[/red]")
    if report.failed or failed_codes:
        raise typer.Exit(1)
