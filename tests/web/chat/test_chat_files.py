"""Screenshots in chat: upload with the visitor token, attach by upload token, download by signed link."""

from __future__ import annotations

import io
import json

import httpx
from PIL import Image
from sqlalchemy import func, select

from kefu.conversations.models import Attachment
from tests.conftest import Database
from tests.web.chat.conftest import EXCHANGE
from tests.web.chat.test_chat_socket import chat, replay, until
from tests.web.ws.conftest import Live


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def upload(live: Live, visitor: str | None, data: bytes, *, origin: str = EXCHANGE) -> httpx.Response:
    headers = {"origin": origin, "content-type": "application/octet-stream"}
    if visitor is not None:
        headers["x-kefu-visitor"] = visitor
    async with httpx.AsyncClient(base_url=live.http_url) as http:
        return await http.post("/chat/uploads?name=screen shot.png", content=data, headers=headers)


async def attachments(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Attachment)) or 0)


async def test_a_screenshot_is_uploaded_attached_and_downloadable(live: Live, db: Database) -> None:
    async with chat(live) as (socket, welcome):
        await replay(socket)
        uploaded = await upload(live, welcome["visitor"], png())
        assert uploaded.status_code == 201, uploaded.text
        body = uploaded.json()
        assert (body["content_type"], body["width"], body["height"]) == ("image/png", 40, 30)
        assert body["filename"].endswith(".png")
        # A screenshot alone opens the chat (its file name stands in for the text).
        await socket.send(json.dumps({"type": "message", "client_id": "c-1", "files": [body["upload"]]}))
        ack = await until(socket, "ack")
        assert ack["seq"] == 1
        echoed = (await until(socket, "message"))["message"]
        [file] = echoed["attachments"]
        assert file["filename"] == body["filename"]
    async with httpx.AsyncClient() as http:
        fetched = await http.get(file["url"].replace("http://kefu.test", live.http_url))
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "image/png"
        assert fetched.headers["content-disposition"].startswith("inline")
        assert "sandbox" in fetched.headers["content-security-policy"]
        assert Image.open(io.BytesIO(fetched.content)).size == (40, 30)
        tampered = file["url"].replace("http://kefu.test", live.http_url)[:-3] + "abc"
        assert (await http.get(tampered)).status_code == 404
        other = f"{live.http_url}/chat/files/{file['id']}?sig=" + "x" * 40
        assert (await http.get(other)).status_code == 404
    assert await attachments(db) == 1


async def test_uploads_need_the_visitor_an_allowed_origin_and_a_sane_size(live: Live, db: Database) -> None:
    async with chat(live) as (socket, welcome):
        await replay(socket)
        visitor = welcome["visitor"]
        assert (await upload(live, None, png())).status_code == 401
        assert (await upload(live, "forged.token.value", png())).status_code == 401
        assert (await upload(live, visitor, png(), origin="https://evil.example")).status_code == 403
        assert (await upload(live, visitor, b"")).status_code == 422
        too_big = await upload(live, visitor, b"\x89PNG" + b"\x00" * (10 * 1024 * 1024 + 1))
        assert too_big.status_code == 413
        # Another visitor's upload token cannot be attached here.
        async with chat(live) as (other, other_welcome):
            await replay(other)
            theirs = (await upload(live, other_welcome["visitor"], png())).json()["upload"]
        await socket.send(
            json.dumps({"type": "message", "client_id": "c-1", "body": "look", "files": [theirs]})
        )
        error = await until(socket, "error")
        assert (error["code"], error["client_id"]) == ("invalid", "c-1")
        await socket.send(json.dumps({"type": "message", "client_id": "c-2", "files": ["x" * 10]}))
        assert (await until(socket, "error"))["code"] == "invalid"
        await socket.send(json.dumps({"type": "message", "client_id": "c-3", "files": []}))
        assert (await until(socket, "error"))["code"] == "invalid"  # neither text nor a file
    assert await attachments(db) == 0
