"""`kefu reports rebuild`: recompute report facts and rollups from the source tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer

from kefu.cli_support import checked_settings, err
from kefu.core.clock import utcnow

reports_app = typer.Typer(help="Report data: rebuild facts and rollups.", no_args_is_help=True)


def _parse_day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        err.print(f"[red]{option}: expected a date like 2026-01-31[/red]")
        raise typer.Exit(2) from None


@reports_app.command("rebuild")
def rebuild_command(
    since: Annotated[str, typer.Option(help="First day (UTC, YYYY-MM-DD) of conversations to rebuild.")],
    until: Annotated[str | None, typer.Option(help="Last day (UTC, inclusive); default: up to now.")] = None,
    rollups_only: Annotated[
        bool, typer.Option("--rollups-only", help="Keep the facts; recompute the rollups of the range.")
    ] = False,
) -> None:
    """Recompute the facts of every conversation created in the range and the rollups they touch.

    Idempotent and safe while Kefu runs (it takes the same lock as the periodic refresh); run it after
    an upgrade to fill reports with history, or after changing business hours.
    """
    start = _parse_day(since, "--since")
    end = _parse_day(until, "--until") + timedelta(days=1) if until else None
    if end is not None and end <= start:
        err.print("[red]--until is before --since[/red]")
        raise typer.Exit(2)
    settings = checked_settings()

    from kefu.db.engine import create_engine, create_sessionmaker
    from kefu.registry import load_models
    from kefu.reports.refresh import rebuild, rebuild_rollups

    load_models()

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            if rollups_only:
                await rebuild_rollups(create_sessionmaker(engine), start, end or utcnow())
                return 0
            return await rebuild(create_sessionmaker(engine), start, end)
        finally:
            await engine.dispose()

    total = asyncio.run(run())
    err.print("Rebuilt the rollups." if rollups_only else f"Rebuilt report facts of {total} conversations.")
