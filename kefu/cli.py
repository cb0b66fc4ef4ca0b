"""The `kefu` command: serve, worker, smtp, imap-poll, migrate, demo, agent, token, config."""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.roles import Role, Scope
from kefu.backup.cli import backup_command, restore_command
from kefu.cli_support import checked_settings, err, in_transaction
from kefu.kb.cli import kb_app
from kefu.reports.cli import reports_app
from kefu.settings import get_settings
from kefu.trust.cli import keys_app

app = typer.Typer(help="Kefu (客服): customer support for cryptocurrency exchanges.", no_args_is_help=True)
agent_app = typer.Typer(help="Manage support agents.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens for scripts and integrations.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")
app.add_typer(token_app, name="token")
app.add_typer(kb_app, name="kb")
app.add_typer(keys_app, name="keys")
app.add_typer(reports_app, name="reports")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    worker: Annotated[
        bool, typer.Option(help="Run the outbox worker in this process (KEFU_RUN_WORKER_IN_SERVE).")
    ] = True,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxies trusted for X-Forwarded-For/Proto (comma-separated IPs).")
    ] = "127.0.0.1",
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Server processes sharing the port (each runs its own worker loop)."
        ),
    ] = 1,
) -> None:
    """Serve the web app, API and websockets (and, by default, the outbox worker)."""
    import os

    import uvicorn

    from kefu.logging import configure_logging

    settings = checked_settings()
    configure_logging(settings)
    if not (worker and settings.run_worker_in_serve):
        # Every server process reads its settings afresh (uvicorn starts them from an import string).
        os.environ["KEFU_RUN_WORKER_IN_SERVE"] = "false"
        get_settings.cache_clear()
    err.print(f"Kefu is serving on http://{host}:{port} (database: {_mask_url(settings.database_url)})")
    uvicorn.run(
        "kefu.web.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_config=None,
        access_log=False,
        # The maintained websockets implementation (the default one is deprecated upstream).
        ws="websockets-sansio",
        # Chat and console frames are a few hundred bytes: compressing them saves little, while the
        # extension's zlib state costs about 47 KB per open socket (docs/performance.md).
        ws_per_message_deflate=False,
    )


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once (KEFU_WORKER_CONCURRENCY).")
    ] = None,
    metrics_listen: Annotated[
        str,
        typer.Option(
            help="Serve this worker's Prometheus metrics (job outcomes and durations) on HOST:PORT; "
            "no authentication, so bind a loopback or private address. Empty: off."
        ),
    ] = "",
) -> None:
    """Run the outbox worker alone (scale-out: as many as you like, they share the queue)."""
    from kefu.logging import configure_logging
    from kefu.mail.smtp_server import listen_address
    from kefu.runtime import build_runtime

    settings = checked_settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    try:
        metrics_address = listen_address(metrics_listen)
    except ValueError:
        err.print(f"[red]--metrics-listen must be HOST:PORT, got {metrics_listen!r}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings)
    if metrics_address is not None:
        # A worker has no HTTP app: its own counters would otherwise never be scraped (docs/operations.md).
        from prometheus_client import start_http_server

        from kefu.observability.metrics import REGISTRY

        host, port = metrics_address
        start_http_server(port, addr=host, registry=REGISTRY)

    async def run() -> None:
        runtime = build_runtime(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runtime.request_stop)
        await runtime.prepare()
        runtime.start_worker()
        err.print(f"Kefu worker running (concurrency {settings.worker_concurrency}); Ctrl-C stops it")
        await runtime.wait_stopped()
        await runtime.close()

    asyncio.run(run())


@app.command("smtp")
def smtp_command(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: KEFU_SMTP_LISTEN's, else 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="TCP port (default: KEFU_SMTP_LISTEN's, else 2525; 0 picks one)."
        ),
    ] = None,
) -> None:
    """Run only the inbound SMTP listener: support mailboxes, 250 once the message is stored."""
    from kefu.logging import configure_logging
    from kefu.mail.smtp_server import listen_address
    from kefu.runtime import build_runtime

    settings = checked_settings()
    configure_logging(settings)
    try:
        default_host, default_port = listen_address(settings.smtp_listen) or ("127.0.0.1", 2525)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    address = (default_host if host is None else host, default_port if port is None else port)

    async def run() -> int:
        runtime = build_runtime(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runtime.request_stop)
        try:
            await runtime.prepare()
            listener = await runtime.start_smtp(*address, must_bind=True)
            assert listener is not None
        except (OSError, ValueError) as exc:
            err.print(f"[red]cannot listen on {address[0]}:{address[1]}: {exc}[/red]")
            await runtime.close()
            return 1
        err.print(f"Kefu SMTP listener on {listener.host}:{listener.port}; Ctrl-C stops it")
        await runtime.wait_stopped()
        await runtime.close()
        return 0

    if code := asyncio.run(run()):
        raise typer.Exit(code)


@app.command("imap-poll")
def imap_poll_command(
    once: Annotated[
        bool, typer.Option("--once", help="Fetch what is waiting in every mailbox, then exit.")
    ] = False,
) -> None:
    """Fetch mail from the KEFU_IMAP_MAILBOXES (the worker does this too; use --once to check a setup)."""
    from kefu.logging import configure_logging
    from kefu.mail.imap_poller import PollResult, build_pollers, poll_all_once
    from kefu.runtime import build_runtime

    settings = checked_settings()
    configure_logging(settings)
    if not settings.imap_mailboxes:
        err.print("[red]no IMAP mailboxes configured (KEFU_IMAP_MAILBOXES)[/red]")
        raise typer.Exit(2)

    async def run() -> int:
        runtime = build_runtime(settings)
        try:
            await runtime.prepare()
            if not once:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, runtime.request_stop)
                runtime.start_imap()
                err.print(f"Polling {len(settings.imap_mailboxes)} IMAP mailbox(es); Ctrl-C stops it")
                await runtime.wait_stopped()
                return 0
            results = await poll_all_once(build_pollers(settings, runtime.sessionmaker, runtime.blobs))
        finally:
            await runtime.close()
        for label, result in results.items():
            if isinstance(result, PollResult):
                err.print(
                    f"{label}: {result.stored} stored, {result.duplicates} already stored, "
                    f"{result.too_large} too large (left on the server)",
                    markup=False,
                )
            else:
                # Server replies are shown as text: "[AUTHENTICATIONFAILED]" is not rich markup.
                err.print(f"{label}: failed: {result}", style="red", markup=False, highlight=False)
        return 1 if any(isinstance(r, str) for r in results.values()) else 0

    if code := asyncio.run(run()):
        raise typer.Exit(code)


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision (default: the newest).")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to --revision instead.")] = False,
) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from kefu.db import migrate as migrations

    settings = checked_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if down:
        migrations.downgrade(settings.database_url, revision)
    else:
        migrations.upgrade(settings.database_url, revision)
    err.print(f"Database at {_mask_url(settings.database_url)} is at revision {revision}.")


@app.command()
def demo() -> None:
    """Load demo content (idempotent): teams, inboxes, agents, customers and conversations."""
    from kefu.demo import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, do_load_demo

    settings = checked_settings()
    if settings.env == "production":
        err.print("[red]refusing to load demo content in production[/red]")
        raise typer.Exit(2)
    created = in_transaction(settings, do_load_demo)
    err.print(f"Demo content {'loaded' if created else 'already present'}.")
    err.print(f"Demo agent login: {DEMO_AGENT_EMAIL} / {DEMO_AGENT_PASSWORD}  ({settings.base_url}/login)")


@agent_app.command("create")
def agent_create(
    email: Annotated[str, typer.Option(help="Sign-in email (unique).")],
    name: Annotated[str, typer.Option(help="Display name shown to colleagues and customers.")],
    role: Annotated[Role, typer.Option(help="Role: agent, supervisor, admin or kyc_reviewer.")] = Role.AGENT,
    password: Annotated[
        str | None, typer.Option(help="Password (12+ characters); prompted for when omitted.")
    ] = None,
) -> None:
    """Create an agent. Admins and KYC reviewers enrol a second factor at first sign-in."""
    from kefu.auth.actions import do_create_agent

    settings = checked_settings()
    secret = password or getpass.getpass("Password: ")

    async def work(session: AsyncSession) -> str:
        agent = await do_create_agent(session, email=email, name=name, role=role, password=secret, actor=None)
        return str(agent.id)

    agent_id = in_transaction(settings, work)
    err.print(f"Created {role.value} {email} ({agent_id}).")


@token_app.command("create")
def token_create(
    agent: Annotated[str, typer.Option(help="Email of the agent the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'exchange backend'.")] = "cli",
    scope: Annotated[
        list[Scope] | None, typer.Option(help="Scopes (repeatable); default: read and write conversations.")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).")
    ] = None,
) -> None:
    """Print a new API token for an agent (only the token, so scripts can capture it)."""
    from kefu.auth.tokens import do_issue_api_token_as_operator

    settings = checked_settings()
    scopes = set(scope or [Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE])

    async def work(session: AsyncSession) -> str:
        _row, plaintext = await do_issue_api_token_as_operator(
            session, agent_email=agent, name=name, scopes=scopes, expires_in_days=expires_days
        )
        return plaintext

    typer.echo(in_transaction(settings, work))


@app.command("config")
def config_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show the effective settings (from KEFU_* variables and .env), secrets masked."""
    settings = get_settings()
    values: dict[str, Any] = {}
    for key, value in settings.model_dump().items():
        shown = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if hasattr(value, "get_secret_value"):
            shown = "********" if shown else ""
        elif key.endswith("_url") and isinstance(value, str):
            shown = _mask_url(value)
        values[key] = str(shown) if not isinstance(shown, bool | int | float) else shown
    if as_json:
        typer.echo(json.dumps(values, indent=2, ensure_ascii=False))
        return
    width = max(len(k) for k in values)
    for key, value in values.items():
        typer.echo(f"KEFU_{key.upper():<{width}}  {value}")


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not an SQLAlchemy URL (e.g. redis://): hide anything between '//' and '@'.
        scheme, sep, rest = url.partition("//")
        if "@" in rest:
            return f"{scheme}{sep}***@{rest.split('@', 1)[1]}"
        return url


# Registered last so `kefu --help` lists them after the everyday commands (docs/operations.md).
app.command("backup")(backup_command)
app.command("restore")(restore_command)
