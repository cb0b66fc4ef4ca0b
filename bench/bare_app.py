"""The yardstick for bench/api_write.py: a bare FastAPI endpoint doing one raw INSERT.

Run by the benchmark as `uvicorn bench.bare_app:app` with BARE_DATABASE_URL set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

URL = os.environ["BARE_DATABASE_URL"]
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    if URL.startswith("postgresql"):
        import asyncpg

        pool = await asyncpg.create_pool(
            URL.replace("postgresql+asyncpg", "postgresql"), min_size=10, max_size=20
        )
        await pool.execute("CREATE TABLE IF NOT EXISTS bare_tickets (id uuid PRIMARY KEY, body text)")
        state["pool"] = pool
        yield
        await pool.close()
    else:
        import aiosqlite

        db = await aiosqlite.connect(URL.split(":///", 1)[1])
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("CREATE TABLE IF NOT EXISTS bare_tickets (id text PRIMARY KEY, body text)")
        await db.commit()
        state["sqlite"] = db
        yield
        await db.close()


app = FastAPI(lifespan=lifespan)


@app.post("/bare", status_code=201)
async def bare(request: Request) -> dict[str, str]:
    payload = await request.json()
    ident = uuid.uuid4()
    if "pool" in state:
        await state["pool"].execute(
            "INSERT INTO bare_tickets (id, body) VALUES ($1, $2)", ident, payload["body"]
        )
    else:
        db = state["sqlite"]
        await db.execute("INSERT INTO bare_tickets (id, body) VALUES (?, ?)", (str(ident), payload["body"]))
        await db.commit()
    return {"id": str(ident)}
