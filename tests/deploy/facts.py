"""What the deployment files are checked against: Kefu's real settings, routes and command line."""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path
from typing import Any, Final

import typer.main
import yaml  # type: ignore[import-untyped]
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.routing import Match

from kefu.cli import app as cli_app
from kefu.settings import Settings
from kefu.web.app import create_app
from kefu.web.middleware import BodyLimitMiddleware

ROOT: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = ROOT / "deploy"
KUBERNETES: Final = DEPLOY / "kubernetes"
SYSTEMD: Final = DEPLOY / "systemd"
NGINX_CONF: Final = DEPLOY / "nginx" / "kefu.conf"
DOCKERFILE: Final = ROOT / "Dockerfile"
DOCKERIGNORE: Final = ROOT / ".dockerignore"
DOCS: Final = ROOT / "docs" / "deployment.md"
ENV_EXAMPLE: Final = SYSTEMD / "kefu.env.example"
PLACEHOLDER: Final = "REPLACE-ME"
# The image's unprivileged user (Dockerfile) that every pod runs as.
KEFU_UID: Final = 10001


def env_name(field: str) -> str:
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


@cache
def setting_names() -> frozenset[str]:
    """Every environment variable Kefu reads: KEFU_ + a Settings field."""
    return frozenset(env_name(field) for field in Settings.model_fields)


@cache
def secret_setting_names() -> frozenset[str]:
    """The settings typed SecretStr (never in a ConfigMap or a log)."""
    return frozenset(
        env_name(name) for name, field in Settings.model_fields.items() if field.annotation is SecretStr
    )


def settings_from(env: dict[str, str]) -> Settings:
    """Settings built from these KEFU_* values alone (no .env file, no process environment)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    values: dict[str, Any] = {name.removeprefix(prefix).lower(): value for name, value in env.items()}
    return Settings(_env_file=None, **values)


@cache
def app() -> FastAPI:
    return create_app(Settings(_env_file=None, env="test"))


def path_of(endpoint: str) -> str:
    """The path the app serves the endpoint (route name) on, e.g. `readyz` -> /readyz."""
    return str(app().url_path_for(endpoint))


def routed(path: str, kind: str = "http") -> bool:
    """Whether any route of the app answers `path` (a `kind` request: http or websocket)."""
    scope: dict[str, Any] = {"type": kind, "path": path, "method": "GET", "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app().router.routes)


def websocket_paths() -> list[str]:
    """The app's WebSocket endpoints: the customers' chat and the agents' console."""
    paths = [path_of("chat_socket"), path_of("console_socket")]
    assert all(routed(path, "websocket") for path in paths)
    return paths


def body_limit() -> int:
    """The largest request body the app accepts (its BodyLimitMiddleware)."""
    for middleware in app().user_middleware:
        if middleware.cls is BodyLimitMiddleware:  # type: ignore[comparison-overlap]
            limit: int = middleware.kwargs["max_bytes"]  # type: ignore[assignment]
            return limit
    raise AssertionError("the app has no body limit")


def parse_command(args: list[str]) -> dict[str, Any]:
    """Parse `kefu ARGS` with the real command line (options checked, nothing run): its parameters."""
    group = typer.main.get_command(cli_app)
    name, *rest = args
    command = getattr(group, "commands", {}).get(name)
    assert command is not None, f"`kefu {name}` is not a command"
    return dict(command.make_context(name, rest).params)


def split_command(line: str) -> list[str]:
    return shlex.split(line)


def load_manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) for every Kubernetes object under deploy/kubernetes."""
    documents = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path.name, document))
    return documents
