"""GET /metrics: who may scrape (loopback or bearer token, else 404), route templates as labels."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from kefu.runtime import Runtime
from kefu.web.app import create_app

TOKEN = "metrics-token-for-tests-0123456789"


def _client(runtime: Runtime, host: str = "127.0.0.1") -> httpx.AsyncClient:
    app = create_app(runtime=runtime, start_worker=False)
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://kefu.test")


@pytest.fixture
async def remote(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client from a public address (documentation range)."""
    async with _client(runtime, "203.0.113.7") as client:
        yield client


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text output (None when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, rest = series.partition("{")
        if metric != name:
            continue
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if found == wanted:
            return float(value)
    return None


async def test_loopback_may_scrape_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["cache-control"] == "no-store"
    assert "# TYPE kefu_http_requests_total counter" in response.text
    assert sample(response.text, "kefu_database_stats_up") == 1.0


async def test_a_remote_client_without_token_gets_the_unknown_path_404(remote: httpx.AsyncClient) -> None:
    refused = await remote.get("/metrics")
    unknown = await remote.get("/no-such-page-at-all")
    assert refused.status_code == unknown.status_code == 404
    assert refused.headers["content-type"] == unknown.headers["content-type"]
    assert refused.json() == unknown.json()
    assert "kefu_" not in refused.text


@pytest.mark.parametrize("host", ["127.0.0.1", "203.0.113.7", "::1"])
async def test_with_a_token_set_only_the_token_counts(runtime: Runtime, host: str) -> None:
    runtime.settings = runtime.settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    async with _client(runtime, host) as client:
        refused: list[bytes | None] = [
            None,
            b"Bearer wrong-token",
            f"Basic {TOKEN}".encode(),
            f"Bearer {TOKEN}x".encode(),
            b"Bearer ",
            "Bearer \u00e9t\u00e9".encode("latin-1"),
        ]
        for authorization in refused:
            headers = [(b"authorization", authorization)] if authorization is not None else []
            assert (await client.get("/metrics", headers=headers)).status_code == 404, authorization
        ok = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "kefu_build_info" in ok.text


async def test_metrics_is_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert "/metrics" not in paths


async def test_requests_are_labelled_by_route_template_never_the_raw_path(client: httpx.AsyncClient) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for conversation_id in ids:
        response = await client.get(f"/api/v1/conversations/{conversation_id}")
        assert response.status_code == 401
    await client.get(f"/definitely-not-a-route/{ids[0]}")
    text = (await client.get("/metrics")).text
    assert not any(conversation_id in text for conversation_id in ids)
    route = "/api/v1/conversations/{conversation}"
    count = sample(text, "kefu_http_requests_total", method="GET", route=route, status="4xx")
    assert count is not None
    assert count >= 3
    assert sample(text, "kefu_http_requests_total", method="GET", route="unmatched", status="4xx")
    assert sample(
        text, "kefu_http_request_duration_seconds_count", method="GET", route=route, status="4xx"
    ) == pytest.approx(count)


async def test_odd_methods_share_one_label(client: httpx.AsyncClient) -> None:
    await client.request("BREW", "/api/v1/conversations")
    text = (await client.get("/metrics")).text
    assert "BREW" not in text
    assert 'method="OTHER"' in text
