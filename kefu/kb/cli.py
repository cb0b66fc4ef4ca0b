"""`kefu kb import PATH` and `kefu kb export PATH`: the knowledge base as markdown files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.cli_support import checked_settings, err, in_transaction
from kefu.kb.importer import ImportReport, export_articles, find_markdown_files, import_articles

kb_app = typer.Typer(
    help="Import and export the knowledge base (markdown with front matter).", no_args_is_help=True
)


@kb_app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="A directory of *.md articles (searched recursively) or one file.")
    ],
) -> None:
    """Create or update articles from markdown files, publish and index them (idempotent)."""
    if not path.exists():
        err.print(f"[red]{path}: no such file or directory[/red]")
        raise typer.Exit(2)
    settings = checked_settings()
    total = len(find_markdown_files(path))

    with Progress(
        TextColumn("[bold]Importing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("import", total=total)

        async def work(session: AsyncSession) -> ImportReport:
            return await import_articles(session, path, progress=lambda _file: bar.advance(task))

        report = in_transaction(settings, work)
    for problem in report.errors:
        # File names and messages come from the files: escaped so they cannot inject markup.
        line = f"[red]{escape(str(problem.path))}[/red]: {escape(problem.message)}"
        err.print(line, highlight=False, soft_wrap=True)
    err.print(f"Imported {report.total} files: {report.summary()}.")
    if report.failed:
        raise typer.Exit(1)


@kb_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="Directory to write <locale>/<slug>.md files into.")],
    drafts: Annotated[
        bool, typer.Option("--drafts", help="Export drafts too (importing publishes them).")
    ] = False,
) -> None:
    """Write every published article as `<PATH>/<locale>/<slug>.md` with its front matter."""
    settings = checked_settings()

    async def work(session: AsyncSession) -> int:
        return await export_articles(session, path, include_drafts=drafts)

    count = in_transaction(settings, work)
    err.print(f"Exported {count} articles to {path}.")
