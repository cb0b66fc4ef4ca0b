"""Server-rendered HTML: one Jinja2 environment (autoescape always on), i18n, and the static files.

Templates never contain inline script or style (the CSP forbids both) and never reference another
origin; static files are served under /static with a content hash in the URL, so they can be cached
for a year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from kefu.i18n import get_translator

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"
STATIC_DIR: Final = Path(__file__).parent / "static"
STATIC_PREFIX: Final = "/static"
STATIC_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return get_translator(context["locale"]).translations.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int) -> str:
    return get_translator(context["locale"]).translations.ngettext(singular, plural, num)


def install_i18n(env: Environment) -> None:
    """Hook Kefu's catalogs into Jinja2's i18n extension: `_()`, `ngettext()` and `{% trans %}`.

    Newstyle gettext: `%(name)s` placeholders are filled (and escaped) by Jinja2. The language is the
    `locale` variable of the render call, so one environment serves every locale concurrently.
    """
    install: Callable[..., None] = env.install_gettext_callables  # type: ignore[attr-defined]
    install(_gettext, _ngettext, newstyle=True)


@lru_cache(maxsize=64)
def _static_version(name: str) -> str:
    path = (STATIC_DIR / name).resolve()
    if not path.is_file() or not path.is_relative_to(STATIC_DIR.resolve()):
        raise ValueError(f"no static file {name!r}")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The URL of a file in kefu/web/static, versioned by its content (so caching forever is safe)."""
    return f"{STATIC_PREFIX}/{name}?v={_static_version(name)}"


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """The process-wide template environment (templates are compiled once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    install_i18n(env)
    env.globals["static_url"] = static_url
    return env


def render_template(template: str, /, *, locale: str, **context: Any) -> str:
    """Render `template` in `locale` (a supported locale; see kefu.i18n.negotiate_locale)."""
    return get_environment().get_template(template).render(locale=locale, **context)


class CachedStaticFiles(StaticFiles):
    """Static files with year-long caching; URLs from `static_url` change when the content does."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["cache-control"] = STATIC_CACHE_CONTROL
        return response


def static_files() -> CachedStaticFiles:
    """The ASGI app to mount at STATIC_PREFIX."""
    return CachedStaticFiles(directory=STATIC_DIR, follow_symlink=False)
