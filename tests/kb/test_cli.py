"""`kefu kb import` / `kefu kb export` in-process against the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.kb.cli import kb_app
from kefu.settings import get_settings
from tests.conftest import TEST_SECRET, Database
from tests.kb.conftest import IndexCalls

GOOD = "---\nslug: {slug}\nlocale: en\ntitle: Title\ncategory: general\ntags: [a]\n---\nBody.\n"


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEFU_ENV", "test")
    monkeypatch.setenv("KEFU_DATABASE_URL", db.url)
    monkeypatch.setenv("KEFU_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()


def test_import_reports_failures_with_exit_code_and_exports(
    cli_env: None, index_calls: IndexCalls, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.md").write_text(GOOD.format(slug="a"), encoding="utf-8")
    (source / "[red]b.md").write_text("---\nslug: [\n---\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(kb_app, ["import", str(source)])
    assert result.exit_code == 1, result.output
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "[red]b.md" in result.output  # file names are printed literally, not as markup

    (source / "[red]b.md").unlink()
    again = runner.invoke(kb_app, ["import", str(source)])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in again.output

    exported = runner.invoke(kb_app, ["export", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out" / "en" / "a.md").read_text(encoding="utf-8") == GOOD.format(slug="a")
    missing = runner.invoke(kb_app, ["import", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
