"""docs/deployment.md describes every deployment file and the settings the layout depends on."""

from __future__ import annotations

import re

import pytest

from tests.deploy.facts import DEPLOY, DOCS, ROOT, setting_names

TEXT = DOCS.read_text()
FILES = sorted(
    str(path.relative_to(ROOT)) for path in DEPLOY.rglob("*") if path.is_file() and path.suffix != ".pyc"
)


@pytest.mark.parametrize("path", FILES)
def test_every_deployment_file_is_described(path: str) -> None:
    # A file is named by its path, or by its name inside a table of its directory.
    assert path in TEXT or path.rsplit("/", 1)[-1] in TEXT, path


def test_every_setting_named_in_the_guide_exists() -> None:
    named = set(re.findall(r"\bKEFU_[A-Z0-9_]+\b", TEXT))
    assert named - setting_names() == set()


def test_the_guide_names_the_settings_the_layout_depends_on() -> None:
    for name in ("KEFU_RUN_WORKER_IN_SERVE", "KEFU_SMTP_LISTEN", "KEFU_REDIS_URL", "KEFU_BLOB_BACKEND"):
        assert name in TEXT
