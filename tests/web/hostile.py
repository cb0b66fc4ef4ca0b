"""Hostile inputs derived from the app's own OpenAPI document, and the checks every answer must pass.

The sweep in test_hostile_input.py walks every operation of the document, so a new route is covered
the day it is added; nothing here names a route.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

Schema = dict[str, Any]
BIG_STRING = "A" * (2 * 1024 * 1024)
FOREIGN_ORIGIN = "https://evil.example"


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path" or "query"
    schema: Schema  # references resolved, `anyOf [X, null]` reduced to X


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: tuple[Param, ...]
    body_types: tuple[str, ...]  # request body content types; empty when the route takes no body
    body_schema: Schema | None  # the application/json body schema, references resolved

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def param_names(self, location: str) -> list[str]:
        return [p.name for p in self.params if p.location == location]

    def url(self, values: Mapping[str, str], *, raw: frozenset[str] = frozenset()) -> str:
        """The path with `values` filled in, percent-encoded unless the name is in `raw`."""
        url = self.path
        for name, value in values.items():
            url = url.replace("{" + name + "}", value if name in raw else quote(value, safe=""))
        return url


@dataclass(frozen=True)
class Hostile:
    """One hostile request ingredient; `must_refuse` means only a 4xx is an acceptable answer."""

    label: str
    must_refuse: bool = True


@dataclass(frozen=True)
class HostileBody(Hostile):
    content: bytes = b""
    content_type: str | None = "application/json"


@dataclass(frozen=True)
class HostileQuery(Hostile):
    params: tuple[tuple[str, str], ...] = ()
    raw: str = ""  # an already percent-encoded query string, sent as is


def resolve(doc: Mapping[str, Any], schema: Any, depth: int = 0) -> Any:
    """`schema` with every `$ref` replaced by its target (raises KeyError on a dangling one)."""
    assert depth < 30, "schema nests too deep (recursive model?)"
    if isinstance(schema, list):
        return [resolve(doc, s, depth + 1) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref: str = schema["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part]
        return resolve(doc, target, depth + 1)
    return {key: resolve(doc, value, depth + 1) for key, value in schema.items()}


def strip_null(schema: Schema) -> Schema:
    """`anyOf: [X, {type: null}]` (pydantic's Optional) as plain X."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if "anyOf" in schema and len(options) == 1:
        return {**schema, **options[0]}
    return schema


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    """Every operation of the OpenAPI document."""
    found: list[Operation] = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = tuple(
                Param(p["name"], p["in"], strip_null(resolve(doc, p.get("schema", {}))))
                for p in op.get("parameters", [])
                if p["in"] in {"path", "query"}
            )
            content = op.get("requestBody", {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    params=params,
                    body_types=tuple(content),
                    body_schema=resolve(doc, json_schema) if json_schema is not None else None,
                )
            )
    return found


def sample(schema: Schema) -> Any:
    """A plausible value for `schema` (required properties only), to carry one hostile change."""
    schema = strip_null(schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return sample(schema[key][0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props: dict[str, Schema] = schema.get("properties", {})
        return {name: sample(props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}))] * schema.get("minItems", 0)
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return {"email": "hostile@example.com", "uuid": "00000000-0000-4000-8000-000000000000"}.get(
            schema.get("format", ""), "hostile"
        )
    return None


def string_properties(schema: Schema | None) -> list[str]:
    """Top-level properties that take a string (including Optional[str])."""
    if not schema:
        return []
    return [
        name
        for name, prop in schema.get("properties", {}).items()
        if strip_null(prop).get("type") == "string" and "enum" not in strip_null(prop)
    ]


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: lone surrogates travel as \udXXX escapes


def _multipart(parts: Sequence[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "hostileboundary7MA4YWxkTrZu0gW"
    chunks: list[bytes] = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def hostile_bodies(op: Operation, base: dict[str, Any]) -> Iterator[HostileBody]:
    """Malformed, mistyped and oversized bodies for `op`; `base` is a body the route would accept."""
    deep = b"[" * 10_000 + b"]" * 10_000
    yield HostileBody("broken JSON", content=b'{"body": "x",')
    yield HostileBody("empty JSON body", content=b"")
    yield HostileBody("invalid UTF-8", content=b'{"body": "\xff\xfe\xfd"}')
    yield HostileBody("JSON list", content=_dump([base]))
    yield HostileBody("JSON string", content=b'"hostile"')
    yield HostileBody("JSON number", content=b"12345")
    yield HostileBody("JSON huge number", content=b"1" + b"0" * 5000)
    yield HostileBody("JSON null", content=b"null")
    yield HostileBody("JSON true", content=b"true")
    yield HostileBody("10,000 nested arrays", content=deep)
    yield HostileBody("10,000 nested arrays in a field", content=b'{"body": ' + deep + b"}")
    yield HostileBody("unknown field", content=_dump({**base, "unexpected_field": 1}))
    yield HostileBody("__proto__ field", content=_dump({**base, "__proto__": {"is_admin": True}}))
    yield HostileBody("valid JSON as text/plain", content=_dump(base), content_type="text/plain")
    yield HostileBody("valid JSON without content type", content=_dump(base), content_type=None)
    yield HostileBody(
        "form-encoded",
        content=b"body=hostile&subject=x&customer=a%40example.com",
        content_type="application/x-www-form-urlencoded",
    )
    data, content_type = _multipart([("files", "a.txt", b"hello"), ("other", None, b"x")])
    yield HostileBody("multipart without payload part", content=data, content_type=content_type)
    data, content_type = _multipart([("payload", None, b'{"body": ')])
    yield HostileBody("multipart with broken payload", content=data, content_type=content_type)
    yield HostileBody(
        "multipart without boundary", content=b"--x\r\n\r\n", content_type="multipart/form-data"
    )
    data, content_type = _multipart([("payload", None, _dump(base)), ("files", None, b"not a file")])
    yield HostileBody("multipart with a field for a file", content=data, content_type=content_type)
    fifty = [(f"field{i}", None, b"x") for i in range(50)]
    data, content_type = _multipart([("payload", None, _dump(base)), *fifty])
    yield HostileBody("multipart with 50 fields", content=data, content_type=content_type)
    for index, name in enumerate(string_properties(op.body_schema)):
        yield HostileBody(f"2 MB string in {name}", content=_dump({**base, name: BIG_STRING}))
        yield HostileBody(f"NUL byte in {name}", content=_dump({**base, name: "hos\x00tile"}))
        yield HostileBody(f"lone surrogate in {name}", content=_dump({**base, name: "hos\ud800tile"}))
        if index == 0:  # type confusion is decided per model, not per field: one field is enough
            yield HostileBody(f"list in {name}", content=_dump({**base, name: ["hostile"]}))
            yield HostileBody(f"object in {name}", content=_dump({**base, name: {"$gt": ""}}))


# Each value stands in for every path parameter in turn; `raw` ones are sent without percent-encoding.
HOSTILE_PATH_VALUES: tuple[tuple[str, bool], ...] = (
    ("not-a-uuid", False),
    ("../../etc/passwd", False),
    ("../../etc/passwd", True),
    ("..%2F..%2Fetc%2Fpasswd", True),
    ("%00", False),
    ("%00", True),
    ("KF-%00", True),
    ("x" * 5000, False),
    ("KF-", False),
    ("KF-zzzz-junk", False),
    ("KF-" + "9" * 5000, False),
    ("kf-' OR '1'='1", False),
    ("' OR 1=1 --", False),
    ("1; DROP TABLE conversations; --", False),
    ("00000000-0000-0000-0000-000000000000' OR '1'='1", False),
    ("{00000000-0000-4000-8000-000000000000}", False),
    ("urn:uuid:00000000-0000-4000-8000-000000000000", False),
    ("ＫＦ-000001", False),  # fullwidth
    ("KF‐000001", False),  # U+2010 hyphen
    ("KF-\u202e100000", False),  # right-to-left override
    ("%E2%80%AE", True),
    ("%ED%A0%80", True),  # an encoded lone surrogate (invalid UTF-8)
    ("\u0430" * 8 + "-0000-4000-8000-000000000000", False),  # Cyrillic а for a
)


def fullwidth(value: str) -> str:
    """`value` with its ASCII digits in fullwidth form (Python's int() reads them as digits)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in value)


def other_spellings(value: str) -> list[str]:
    """Spellings of a real id that RFC 9562 parsers commonly accept as the same UUID."""
    return [value.upper(), value.replace("-", ""), "{" + value + "}", "urn:uuid:" + value]


def hostile_queries(param: Param) -> Iterator[HostileQuery]:
    """Hostile values for one query parameter; the other parameters stay at their defaults."""
    schema = param.schema
    name = param.name
    huge = "x" * 5000
    kind = schema.get("type")
    enum = schema.get("enum") or (schema.get("items", {}).get("enum") if kind == "array" else None)
    if kind == "integer":
        for bad in ("abc", "1.5", "", "1e3", "0x10", "NaN", "9" * 5000, "١٢", "Infinity"):
            yield HostileQuery(f"{name}={bad[:20]!r}", params=((name, bad),))
        if "minimum" in schema:
            yield HostileQuery(f"{name} below minimum", params=((name, str(schema["minimum"] - 1)),))
        if "maximum" in schema:
            yield HostileQuery(f"{name} above maximum", params=((name, str(schema["maximum"] + 1)),))
        yield HostileQuery(f"{name} repeated, bad last", params=((name, "1"), (name, "abc")))
        yield HostileQuery(
            f"{name} repeated, good last", must_refuse=False, params=((name, "abc"), (name, "1"))
        )
    elif kind == "boolean":
        for bad in ("maybe", "2", huge):
            yield HostileQuery(f"{name}={bad[:20]!r}", params=((name, bad),))
    elif schema.get("format") == "uuid":
        for bad in ("nope", "../../etc/passwd", huge, "' OR 1=1 --", fullwidth(str(uuid.uuid4()))):
            yield HostileQuery(f"{name}={bad[:20]!r}", params=((name, bad),))
    elif enum:
        for bad in ("bogus", str(enum[0]).upper() + "X", huge):
            yield HostileQuery(f"{name}={bad[:20]!r}", params=((name, bad),))
        yield HostileQuery(f"{name} repeated", must_refuse=False, params=((name, str(enum[0])),) * 300)
        if kind == "array":
            yield HostileQuery(f"{name} one good one bad", params=((name, str(enum[0])), (name, "bogus")))
    elif kind == "string":
        if "maxLength" in schema:
            too_long = "x" * (schema["maxLength"] + 1)
            yield HostileQuery(f"{name} one over maxLength", params=((name, too_long),))
            yield HostileQuery(f"{name} 5,000 chars", params=((name, huge),))
        else:
            yield HostileQuery(f"{name} 5,000 chars", must_refuse=False, params=((name, huge),))
        for odd in ("' OR 1=1 --", "%", "_", "\\", "<script>", "🦀", "!!!!", "KF-1", "\u202e", "a\r\nb"):
            yield HostileQuery(f"{name}={odd!r}", must_refuse=False, params=((name, odd),))
        for raw in ("%ED%A0%80", "%FF%FE", "%C0%AF"):  # a lone surrogate, invalid and overlong UTF-8
            yield HostileQuery(f"{name}={raw}", must_refuse=False, raw=f"{name}={raw}")
        yield HostileQuery(f"{name} repeated", must_refuse=False, params=((name, "a"), (name, "b")))
    yield HostileQuery(f"{name} plus unknown parameters", must_refuse=False, params=((name, ""), ("x", "1")))
    # NUL is refused for every parameter, whatever its type.
    yield HostileQuery(f"{name}=NUL", params=((name, "a\x00b"),))
    yield HostileQuery(f"{name}=%00", raw=f"{name}=%00")
    yield HostileQuery(f"{name}= then NUL", raw=f"{name}=1&{name}=%00")


def error_shape_problems(response: httpx.Response) -> list[str]:
    """What is wrong with an error answer: not JSON, or not {"error": {"code", "message", "fields"?}}."""
    problems: list[str] = []
    if not response.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"content-type {response.headers.get('content-type')!r}")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"not JSON: {response.text[:200]!r}"]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(error, dict):
        return [*problems, f"not the error shape: {str(body)[:200]}"]
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        problems.append(f"code/message not strings: {str(error)[:200]}")
    if not set(error) <= {"code", "message", "fields"}:
        problems.append(f"unexpected keys {sorted(set(error) - {'code', 'message', 'fields'})}")
    fields = error.get("fields")
    if "fields" in error and not (
        isinstance(fields, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    ):
        problems.append(f"fields not a str->str object: {str(fields)[:200]}")
    return problems


def cors_problems(response: httpx.Response) -> list[str]:
    """A foreign origin must never be granted (credentialed) CORS access."""
    allowed = response.headers.get("access-control-allow-origin")
    if allowed is None:
        return []
    credentials = response.headers.get("access-control-allow-credentials", "").lower() == "true"
    if allowed in {FOREIGN_ORIGIN, "null"} or (allowed == "*" and credentials):
        return [f"CORS granted to {allowed!r} (credentials={credentials})"]
    return []


def answer_problems(response: httpx.Response, *, must_refuse: bool) -> list[str]:
    """Problems with an answer to a hostile request (5xx, wrong error shape, CORS, acceptance)."""
    status = response.status_code
    problems = cors_problems(response)
    if status >= 500:
        problems.append(f"status {status}")
    elif status >= 400:
        problems += error_shape_problems(response)
    elif must_refuse:
        problems.append(f"accepted with {status}")
    return problems
