import httpx
from tests.conftest import Database

async def test_nul(client: httpx.AsyncClient, db: Database) -> None:
    r = await client.post("/api/v1/conversations", json={"body": "x", "customer": {"email": "a@example.com", "name": "A\u0000"}})
    print("NAME", db.backend, r.status_code, r.text[:200])
    r = await client.post("/api/v1/conversations", json={"body": "x\u0000y", "subject": "s\u0000", "customer": {"email": "b@example.com"}})
    print("BODY", db.backend, r.status_code, r.text[:200])
