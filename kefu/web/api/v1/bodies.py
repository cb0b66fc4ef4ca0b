"""Request bodies that may be JSON or multipart (a JSON `payload` part plus `files` parts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from kefu.conversations.attachments import MAX_FILES_PER_MESSAGE
from kefu.core.errors import InvalidInput, MalformedBody, TooLarge, UnsupportedMedia

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def multipart_openapi(schema_ref: str) -> dict[str, Any]:
    """OpenAPI for a route that takes `schema_ref` as JSON, or as a multipart `payload` with `files`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["payload"],
                        "properties": {
                            "payload": {"type": "string", "description": f"{schema_ref} as JSON"},
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                },
            },
        }
    }


def _validate(model: type[M], raw: bytes | str) -> M:
    try:
        return model.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise MalformedBody("the request body is not valid JSON") from None
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in exc.errors()}
        raise InvalidInput("the request is not valid", fields=fields) from None


async def read_body(request: Request, model: type[M], *, max_file_bytes: int) -> tuple[M, list[Upload]]:
    """Parse a JSON or multipart body into `model` and uploaded files (nothing stored yet)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return _validate(model, await request.body()), []
    if content_type != "multipart/form-data":
        raise UnsupportedMedia("send application/json, or multipart/form-data with a JSON `payload` part")
    try:
        form = await request.form(max_files=MAX_FILES_PER_MESSAGE, max_fields=5)
    except MultiPartException as exc:
        raise InvalidInput(f"malformed multipart body: {exc.message}") from None
    payload = form.get("payload")
    if payload is None:
        raise InvalidInput("the multipart body needs a `payload` part", fields={"payload": "required"})
    if isinstance(payload, UploadFile):
        payload = (await payload.read(1_000_001)).decode("utf-8", errors="replace")
    parsed = _validate(model, payload)
    uploads: list[Upload] = []
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile):
            raise InvalidInput("`files` parts must be files", fields={"files": "not a file"})
        data = await item.read(max_file_bytes + 1)
        if len(data) > max_file_bytes:
            raise TooLarge(f"each file may be at most {max_file_bytes} bytes")
        uploads.append(Upload(filename=item.filename or "file", data=data))
    await form.close()
    return parsed, uploads
