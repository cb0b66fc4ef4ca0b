"""What every `kefu` command group shares: the error console, checked settings, one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import KefuError
from kefu.settings import InsecureSettingsError, Settings, get_settings

err = Console(stderr=True)
T = TypeVar("T")


def checked_settings() -> Settings:
    """The settings, or exit 2 when production would run with default secrets."""
    settings = get_settings()
    try:
        settings.check_production_ready()
    except InsecureSettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    return settings


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction against the configured database; exit 1 on KefuError."""
    from kefu.db.engine import create_engine, create_sessionmaker
    from kefu.db.uow import transaction
    from kefu.registry import load_models

    load_models()  # every mapper, so foreign keys to other domains' tables resolve

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except KefuError as exc:
        detail = f" ({exc.fields})" if exc.fields else ""
        err.print(f"[red]{exc.message}{detail}[/red]")
        raise typer.Exit(1) from None
