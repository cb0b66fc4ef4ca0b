"""Every route and dependency is async: a sync one would run in the thread pool on each request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from kefu.settings import Settings
from kefu.web.app import create_app


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def test_no_route_or_dependency_runs_in_the_thread_pool(tmp_path: object) -> None:
    app = create_app(Settings(env="test"), start_worker=False)
    blocking = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for call in _calls(route.dependant):
            # Class instances used as dependencies are judged by their __call__ method.
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                blocking.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert blocking == []
