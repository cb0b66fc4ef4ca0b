"""`kefu backup` and `kefu restore` as an operator runs them: real processes, real files, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KEFU = str(Path(sys.executable).parent / "kefu")


def kefu(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    variables = base | {"KEFU_DATA_DIR": str(data_dir), "KEFU_LOG_LEVEL": "WARNING", "COLUMNS": "200"} | env
    return subprocess.run(
        [KEFU, *args], env=variables, capture_output=True, text=True, timeout=120, check=False
    )


def test_backup_then_restore_elsewhere(tmp_path: Path) -> None:
    origin, copy = tmp_path / "origin", tmp_path / "copy"
    assert kefu(origin, "migrate").returncode == 0
    assert kefu(origin, "demo").returncode == 0
    archive = tmp_path / "out" / "kefu.tar.gz"
    made = kefu(origin, "backup", "--output", str(archive))
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(archive)
    assert "revision" in made.stderr

    again = kefu(origin, "backup", "--output", str(archive))
    assert again.returncode == 1
    assert "already exists" in again.stderr

    restored = kefu(copy, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert (copy / "kefu.db").is_file()
    refused = kefu(copy, "restore", str(archive))
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert kefu(copy, "restore", str(archive), "--force").returncode == 0
    # The restored deployment answers like the original.
    listed = kefu(copy, "config", "--json")
    assert listed.returncode == 0


def test_restore_of_a_missing_or_foreign_file_fails_cleanly(tmp_path: Path) -> None:
    missing = kefu(tmp_path / "site", "restore", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 1
    assert "no archive" in missing.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tar file")
    foreign = kefu(tmp_path / "site", "restore", str(junk))
    assert foreign.returncode == 1
    assert "cannot be read" in foreign.stderr
    assert "Traceback" not in foreign.stderr


def test_on_postgresql_without_its_tools_the_procedure_is_printed(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://kefu@127.0.0.1:5432/kefu"
    for command in (["backup"], ["restore", str(tmp_path / "x.tar.gz")]):
        # No pg_dump or pg_restore on the PATH.
        result = kefu(tmp_path, *command, KEFU_DATABASE_URL=url, PATH=str(tmp_path))
        assert result.returncode == 2
        assert "pg_dump --format=custom" in result.stderr
        assert "pg_restore" in result.stderr
