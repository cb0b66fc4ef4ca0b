"""Request bodies that may be JSON or multipart (a JSON `payload` part plus `files` parts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from kefu.conversations import schemas as conversation_schemas
from kefu.conversations.attachments import MAX_FILES_PER_MESSAGE
from kefu.core.errors import InvalidInput, MalformedBody, TooLarge, UnsupportedMedia

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its nested definitions inlined.

    These routes declare no body model, so FastAPI never adds the model to `components/schemas` and a
    `$ref` to it would dangle (clients generated from the document then fail to build).
    """
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = definitions[str(node["$ref"]).rsplit("/", 1)[-1]]
            return {**inline(target), **{k: inline(v) for k, v in node.items() if k != "$ref"}}
        return {key: inline(value) for key, value in node.items()}

    inlined: dict[str, Any] = inline(schema)
    return inlined


def multipart_openapi(schema_ref: str | type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a route that takes a model as JSON, or as a multipart `payload` with `files`.

    `schema_ref` is the model, or the name of one in `kefu.conversations.schemas`.
    """
    model = getattr(conversation_schemas, schema_ref) if isinstance(schema_ref, str) else schema_ref
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{schema_ref!r} is not a pydantic model")
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline_schema(model)},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["payload"],
                        "properties": {
                            "payload": {"type": "string", "description": f"{model.__name__} as JSON"},
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
    try:
        return await _read_form(form, model, max_file_bytes=max_file_bytes)
    finally:
        await form.close()  # also when refused: spooled upload files must not leak


async def _read_form(form: FormData, model: type[M], *, max_file_bytes: int) -> tuple[M, list[Upload]]:
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
    return parsed, uploads
