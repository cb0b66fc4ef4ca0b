"""Catalog upkeep for developers: extract messages, update the .po files, compile the .mo files, check.

    python -m kefu.i18n_build update    # add new msgids to every .po (empty), drop vanished ones
    python -m kefu.i18n_build compile   # .po -> .mo (the .mo files are committed)
    python -m kefu.i18n_build check     # what tests/test_i18n.py asserts; exit status 1 on problems

Extraction follows `babel.cfg` at the repository root, so `pybabel extract -F babel.cfg kefu` sees the
same messages. Locations are written without line numbers to keep diffs to real changes.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from babel.messages import frontend
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from kefu.i18n import DEFAULT_LOCALE, DOMAIN, LOCALE_DIR, SUPPORTED_LOCALES, babel_identifier

PACKAGE_DIR: Final = Path(__file__).parent
MAPPING_FILE: Final = PACKAGE_DIR.parent / "babel.cfg"
PROJECT: Final = "Kefu"
COMMENT_TAGS: Final = ("Translators:",)
PO_WIDTH: Final = 100
AUTHORS: Final = "Kefu contributors"
HEADER_COMMENT: Final = (
    "# Kefu user interface messages. How to change them: docs/i18n.md.\n"
    "# Distributed under the same license as Kefu (AGPL-3.0-or-later)."
)
_PLACEHOLDER_RE: Final = re.compile(r"%\((\w+)\)[sd]")

MessageKey = tuple[str | tuple[str, ...], str | None]
_Mapping = tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]
# Babel's mapping parser is untyped; this names what it returns.
_parse_mapping: Callable[[IO[str], str], _Mapping] = frontend.parse_mapping_cfg


def po_path(locale: str) -> Path:
    """Where the editable catalog of `locale` lives."""
    return LOCALE_DIR / babel_identifier(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    """Where the compiled catalog of `locale` lives (read at run time)."""
    return po_path(locale).with_suffix(".mo")


def _key(message: Message) -> MessageKey:
    msgid = message.id if isinstance(message.id, str) else tuple(message.id)
    return msgid, message.context


def extract_messages() -> Catalog:
    """Every message marked for translation in the Python code and the templates."""
    with MAPPING_FILE.open(encoding="utf-8") as fileobj:
        method_map, options_map = _parse_mapping(fileobj, str(MAPPING_FILE))
    catalog = Catalog(project=PROJECT, fuzzy=False)
    for filename, lineno, msgid, comments, context in extract_from_dir(
        PACKAGE_DIR, method_map, options_map, comment_tags=COMMENT_TAGS, strip_comment_tags=True
    ):
        catalog.add(msgid, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(locale: str) -> Catalog:
    """The .po catalog of `locale` as committed."""
    with po_path(locale).open("rb") as fileobj:
        return read_po(fileobj, locale=babel_identifier(locale), domain=DOMAIN)


def _write_catalog(locale: str, catalog: Catalog) -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fileobj:
        write_po(fileobj, catalog, width=PO_WIDTH, ignore_obsolete=True, include_lineno=False)


def compiled(catalog: Catalog) -> bytes:
    """The .mo bytes of a catalog (fuzzy entries left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _new_catalog(locale: str) -> Catalog:
    now = datetime.now(UTC)
    return Catalog(
        locale=babel_identifier(locale),
        domain=DOMAIN,
        header_comment=HEADER_COMMENT,
        project=PROJECT,
        version="1",
        copyright_holder=AUTHORS,
        msgid_bugs_address="",
        creation_date=now,
        revision_date=now,
        last_translator=AUTHORS,
        language_team=AUTHORS,
        fuzzy=False,
    )


def update_catalogs(template: Catalog) -> None:
    """Bring every locale's .po in line with `template`: new msgids added empty, vanished ones dropped."""
    for locale in SUPPORTED_LOCALES:
        catalog = read_catalog(locale) if po_path(locale).exists() else _new_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        _write_catalog(locale, catalog)


def compile_catalogs() -> None:
    """Write the .mo of every locale from its .po."""
    for locale in SUPPORTED_LOCALES:
        mo_path(locale).write_bytes(compiled(read_catalog(locale)))


def _placeholders(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in _PLACEHOLDER_RE.findall(text)}


def translation_problems(locale: str, catalog: Catalog) -> list[str]:
    """Untranslated, fuzzy or placeholder-changing entries of a catalog that needs translations."""
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string or ())
        if message.fuzzy:
            problems.append(f"{locale}: fuzzy translation of {sources[0]!r}")
        if not forms or not all(forms):
            problems.append(f"{locale}: no translation of {sources[0]!r}")
        elif any(_placeholders([form]) != _placeholders(sources) for form in forms):
            problems.append(f"{locale}: placeholders differ from the source in {sources[0]!r}")
    return problems


def check_catalogs(template: Catalog | None = None) -> list[str]:
    """Problems with the catalogs: missing or stale msgids, untranslated entries, stale .mo files."""
    template = template or extract_messages()
    wanted = {_key(m) for m in template if m.id}
    problems = []
    for locale in SUPPORTED_LOCALES:
        catalog = read_catalog(locale)
        present = {_key(m) for m in catalog if m.id}
        problems += [f"{locale}: missing msgid {key[0]!r}" for key in sorted(wanted - present, key=repr)]
        problems += [f"{locale}: stale msgid {key[0]!r}" for key in sorted(present - wanted, key=repr)]
        if locale != DEFAULT_LOCALE:  # English is the source language: an empty msgstr means "as is"
            problems += translation_problems(locale, catalog)
        if not mo_path(locale).exists() or mo_path(locale).read_bytes() != compiled(catalog):
            problems.append(f"{locale}: {mo_path(locale).name} is out of date; run compile")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m kefu.i18n_build", description="Kefu message catalogs")
    parser.add_argument("command", choices=("update", "compile", "check"))
    command = parser.parse_args(argv).command
    if command == "update":
        update_catalogs(extract_messages())
    elif command == "compile":
        compile_catalogs()
    else:
        problems = check_catalogs()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
