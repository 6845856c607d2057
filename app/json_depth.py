"""A nesting limit on JSON bodies, checked on the raw bytes before any parser recurses into them.

Python's ``json`` (which parses FastAPI's bodies) and everything that walks a parsed value recursively give up
near 1,000 levels with a ``RecursionError``; a client could otherwise reset the connection with 1,000 brackets.
The limit is checked in one place at the edge for every route whose body FastAPI parses as JSON, and by the
NDJSON route for each line.
"""

import re
from itertools import accumulate

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidInput

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]
_IN_THREAD = 1 << 16  # bodies larger than this are scanned off the event loop


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(raw: bytes, limit: int) -> bool:
    """Whether a JSON text nests deeper than ``limit`` (cheap when it cannot: too few opening brackets)."""
    return raw.count(b"[") + raw.count(b"{") > limit and json_depth(raw) > limit


class NestingTooDeep(InvalidInput, HTTPException):
    """422: a JSON body nested too deep. Also an ``HTTPException``, which FastAPI's body reading lets through."""

    def __init__(self, limit: int) -> None:
        InvalidInput.__init__(self, f"The JSON body nests deeper than {limit} levels")
        self.status_code = self.status


async def nests_too_deep(raw: bytes, limit: int) -> bool:
    """``too_deep``, off the event loop for large texts."""
    if len(raw) > _IN_THREAD:
        return await anyio.to_thread.run_sync(too_deep, raw, limit)
    return too_deep(raw, limit)


def _json_typed(scope: Scope) -> bool:
    """Whether FastAPI would parse this request's body as JSON (a JSON content type, or none)."""
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not kind or kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


class JsonDepthLimit:
    """Pure ASGI middleware: a JSON body nested deeper than ``max_depth`` answers 422 problem+json before the
    route parses it. Only the bodies of routes that declare a JSON body are checked, when the route reads them;
    others pass untouched (the NDJSON stream of ``/metrics/bulk`` is checked line by line by its route)."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _json_typed(scope):
            await self.app(scope, receive, send)
            return
        await self.app(scope, _Checked(scope, receive, self.max_depth), send)


class _Checked:
    """A ``receive`` that, for a route declaring a JSON body (known once routed, when the route reads its body),
    reads the whole body and checks its nesting before handing it on in one message."""

    def __init__(self, scope: Scope, receive: Receive, max_depth: int) -> None:
        self.scope, self.receive, self.max_depth = scope, receive, max_depth
        self.checked = False

    async def __call__(self) -> Message:
        if self.checked or getattr(self.scope.get("route"), "body_field", None) is None:
            return await self.receive()
        self.checked = True
        chunks, message = [], await self.receive()
        while message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
            message = await self.receive()
        else:
            return message  # the client went away
        body = b"".join(chunks)
        if await nests_too_deep(body, self.max_depth):
            raise NestingTooDeep(self.max_depth)
        return {"type": "http.request", "body": body, "more_body": False}
