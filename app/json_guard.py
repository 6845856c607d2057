"""Checks on the raw bytes of every JSON body before any parser sees it: its nesting, and lone surrogates.

Python's ``json`` (which parses FastAPI's bodies) and everything that walks a parsed value recursively give up
near 1,000 levels with a ``RecursionError``; a client could otherwise reset the connection with 1,000 brackets.
It also accepts a lone UTF-16 surrogate (``"\\ud800"``, or its bytes in the text), giving a ``str`` that cannot be
encoded to UTF-8 again (BSON, problem+json, responses). Both are refused in one place at the edge for every route
whose body FastAPI parses as JSON, and by the NDJSON route for each line.
"""

import json
import re
from itertools import accumulate

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.errors import InvalidInput

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]
_IN_THREAD = 1 << 16  # bodies larger than this are scanned off the event loop
#: a surrogate escape, or a surrogate's UTF-8 bytes (which ``json.loads`` lets through on bytes): the fast path
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
#: every escape, left to right (so ``\\`` then ``ud800`` is text); ``lone``: a surrogate escape not in a pair
_ESCAPES = re.compile(
    rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(?P<lone>u[dD][89a-fA-F][0-9a-fA-F]{2})|.)",
    re.DOTALL,
)


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def too_deep(raw: bytes, limit: int) -> bool:
    """Whether a JSON text nests deeper than ``limit`` (cheap when it cannot: too few opening brackets)."""
    return raw.count(b"[") + raw.count(b"{") > limit and json_depth(raw) > limit


def lone_surrogate(raw: bytes) -> bool:
    """Whether a JSON text holds a lone UTF-16 surrogate: a ``\\uD800``-``\\uDBFF`` escape not followed by a
    ``\\uDC00``-``\\uDFFF`` one, a low one without a high one before it, or a surrogate's bytes (cheap when no
    ``\\uD8``-``\\uDF`` escape and no such bytes occur)."""
    encoding = json.detect_encoding(raw)
    if not encoding.startswith("utf-8"):  # UTF-16 or UTF-32, as json.loads reads it; pairs decode to one character
        raw = raw.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    if not _MAYBE_SURROGATE.search(raw):
        return False
    return re.search(rb"\xed[\xa0-\xbf]", raw) is not None or any(m["lone"] for m in _ESCAPES.finditer(raw))


def refusal(raw: bytes, max_depth: int) -> str | None:
    """Why a JSON text is refused before parsing (nested too deep, a lone surrogate), or None."""
    if too_deep(raw, max_depth):
        return f"nests deeper than {max_depth} levels"
    if lone_surrogate(raw):
        return "holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape not in a pair), which is not text"
    return None


async def refused(raw: bytes, max_depth: int) -> str | None:
    """``refusal``, off the event loop for large texts."""
    if len(raw) > _IN_THREAD:
        return await anyio.to_thread.run_sync(refusal, raw, max_depth)
    return refusal(raw, max_depth)


class JsonRefused(InvalidInput, HTTPException):
    """422: a JSON body refused before parsing. Also an ``HTTPException``, which FastAPI's body reading lets
    through."""

    def __init__(self, reason: str) -> None:
        InvalidInput.__init__(self, f"The JSON body {reason}")
        self.status_code = self.status


def _json_typed(scope: Scope) -> bool:
    """Whether FastAPI would parse this request's body as JSON (a JSON content type, or none)."""
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not kind or kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


class JsonGuard:
    """Pure ASGI middleware: a JSON body nested deeper than ``max_depth`` or holding a lone surrogate answers 422
    problem+json before the route parses it. Only the bodies of routes that declare a JSON body are checked, when
    the route reads them; others pass untouched (the NDJSON stream of ``/metrics/bulk`` is checked line by line
    by its route)."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _json_typed(scope):
            await self.app(scope, receive, send)
            return
        await self.app(scope, _Checked(scope, receive, self.max_depth), send)


class _Checked:
    """A ``receive`` that, for a route declaring a JSON body (known once routed, when the route reads its body),
    reads the whole body and checks it before handing it on in one message."""

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
        if reason := await refused(body, self.max_depth):
            raise JsonRefused(reason)
        return {"type": "http.request", "body": body, "more_body": False}
