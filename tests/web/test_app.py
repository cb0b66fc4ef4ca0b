"""App-wide behaviour: probes, security headers, error shape, body limits, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent
from tests.observability.test_metrics_endpoint import sample


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_readiness_fails_when_the_database_is_gone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from kefu.db.engine import create_engine

    runtime.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        ready = await client.get("/readyz")
    finally:
        await runtime.engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"


async def test_security_headers_and_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/conversations")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert len(response.headers["x-request-id"]) == 32


async def test_unknown_routes_and_methods_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.delete("/api/v1/conversations")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_oversized_bodies_are_refused_with_413(runtime: Runtime) -> None:
    from kefu.web.app import create_app

    runtime.settings = runtime.settings.model_copy(update={"upload_max_bytes": 1024})
    limit = 1024 * 10 + 1024 * 1024
    app = create_app(runtime=runtime, start_worker=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kefu.test"
    ) as client:
        declared = await client.post(
            "/api/v1/conversations",
            content=b"x",
            headers={"content-length": str(limit + 1), "content-type": "application/json"},
        )
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        streamed = await client.post(
            "/api/v1/conversations", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "too_large"


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    assert "/api/v1/conversations" in paths
    assert "/api/v1/conversations/{conversation}/messages" in paths
    assert "/api/v1/attachments/{attachment_id}" in paths
    content = paths["/api/v1/conversations/{conversation}/messages"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}


async def test_readiness_checks_redis_when_configured(
    client: httpx.AsyncClient, runtime: Runtime, redis_url: str
) -> None:
    from kefu.pubsub.redis import RedisPubSub

    memory = runtime.pubsub
    runtime.settings = runtime.settings.model_copy(update={"redis_url": redis_url})
    runtime.pubsub = RedisPubSub(redis_url)
    try:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        await runtime.pubsub.close()
        runtime.pubsub = RedisPubSub("redis://127.0.0.1:1/0")
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["redis"] == "unavailable"
    finally:
        await runtime.pubsub.close()
        runtime.pubsub = memory


async def test_the_create_route_matched_first_behaves_as_its_documented_route(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    from kefu.web.app import FirstRoute, create_app

    first = create_app(runtime=runtime, start_worker=False).router.routes[0]
    assert isinstance(first, FirstRoute)
    assert (first.path, first.methods) == ("/api/v1/conversations", {"POST"})
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    body = {"subject": "Help", "body": "My deposit is missing", "customer": {"email": "a@example.com"}}
    created = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    assert created.status_code == 201, created.text
    # The middleware still wraps it: security headers, request id, error shape.
    assert created.headers["x-content-type-options"] == "nosniff"
    assert len(created.headers["x-request-id"]) == 32
    malformed = agent.headers | {"content-type": "application/json"}
    refused = await client.post("/api/v1/conversations", content=b"{", headers=malformed)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "malformed_json")
    # Other methods on the path reach the other routes as before.
    listed = await client.get("/api/v1/conversations", headers=agent.headers)
    assert (listed.status_code, len(listed.json()["items"])) == (200, 1)
    # Still in the OpenAPI document, with its body, and counted under its template.
    operation = (await client.get("/api/v1/openapi.json")).json()["paths"]["/api/v1/conversations"]["post"]
    assert "application/json" in operation["requestBody"]["content"]
    metrics = (await client.get("/metrics")).text
    labels = {"method": "POST", "route": "/api/v1/conversations"}
    assert sample(metrics, "kefu_http_requests_total", status="2xx", **labels)
    assert sample(metrics, "kefu_http_requests_total", status="4xx", **labels)
