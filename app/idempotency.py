"""Idempotency-Key: a retried write answers what the first attempt answered and writes nothing.

A route does ``return await once(lambda: <the write>)``. Without the header the write just runs (the document store
is not needed). With it, per caller and key (kept in the document store's ``idempotency`` collection for
``settings.idempotency_hours``):

1. the key is claimed (``pending``) before the write runs; a request with the same key and another method, path,
   query or body answers 422; a key whose attempt is still running answers 409 with ``Retry-After``;
2. the write runs and flushes; its answer (status, headers, body bytes) and the rows it inserted are recorded
   (``committing``) before the SQL commit, so a commit is never left without its answer;
3. once the request's unit of work settles, the key is marked ``done``, or freed if it was rolled back (an error
   answer is never kept: its retry runs again);
4. a retry of a ``done`` key gets the recorded answer with ``Idempotent-Replayed: true``. A ``committing`` key
   (its attempt died between recording and the end of its commit, or the store missed the last step) is decided
   by SQL: if the recorded rows are there the answer is replayed, if not the write runs again (the look-up waits
   for the first attempt's transaction to end). A ``pending`` key, or a ``committing`` one that created no row (an
   update, harmless to run again), is taken over once its lease has run out.

The SQL commit and the store's record are not atomic, hence the order above: no committed write ever lacks its
recorded answer, and a recorded answer whose write did not commit is recognised by its missing rows."""

import hashlib
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, serialize_response

from app.deps import DocumentsDep, IdentityDep, StateDep, WriteSessionDep, when_settled
from documents import idempotency as keys
from documents.idempotency import Answer, Claim
from documents.store import DocumentStore, StoreTimeout, StoreUnavailable
from relational.db import WriteSession
from relational.idempotency import rows_exist, run_tracking_inserts
from schemas.errors import Conflict, InvalidInput
from schemas.times import utc_now

T = TypeVar("T")
log = logging.getLogger("ispyb.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: seconds an attempt holds its key before a retry may take it over (a request takes well under a second)
LEASE_SECONDS = 30
#: the longest Retry-After of a 409 for a key in flight
RETRY_AFTER_MAX = 5
#: claims lost to other attempts of the same key before giving up with 409
MAX_RACES = 5
#: headers of an answer that its replay computes again
_RECOMPUTED = {"content-length", "content-type"}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="Retries with the same key (from the same caller) answer the first answer and write nothing; "
        "up to 255 printable ASCII characters",
    ),
]


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query and body (JSON compared by value and key
    order ignored; other bodies byte for byte)."""
    try:
        canonical = keys.canonical(json.loads(body))
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method}\n{path}\n{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


@dataclass
class Once:
    """Runs a route's write once per caller and Idempotency-Key (``key`` None: no key, the write just runs)."""

    key: str | None
    caller: str
    hours: float
    request: Request
    response: Response
    db: WriteSession
    documents: DocumentStore

    async def __call__(self, work: Callable[[], Awaitable[T]]) -> T | Response:
        if self.key is None:
            return await work()
        store = await self.documents.ready()
        body = await self.request.body()
        request = fingerprint(self.request.method, self.request.url.path, self.request.url.query, body)
        claim_id = f"{self.caller} {self.key}"
        for _ in range(MAX_RACES):
            now = utc_now()
            mine = Claim(
                id=claim_id,
                request=request,
                token=secrets.token_hex(16),
                state="pending",
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
                expires_at=now + timedelta(hours=self.hours),
            )
            if await keys.claim(store, mine):
                return await self._run(store, mine, work)
            found = await keys.find(store, claim_id)
            if found is None:  # freed meanwhile (its attempt was rolled back)
                continue
            if found.expires_at > now:
                if found.request != request:
                    raise InvalidInput(
                        f"This {HEADER} was used for another request (method, path or body); use a new key",
                        errors=[{"loc": ["header", HEADER], "msg": "used for another request", "type": "value_error"}],
                    )
                if found.state == "done" and found.answer:
                    return _response(found.answer, replayed=True)
                if found.state == "committing" and found.answer and found.rows:
                    if await rows_exist(self.db, found.rows):
                        await _settle_quietly(keys.mark_done(store, found))
                        return _response(found.answer, replayed=True)
                elif found.lease_until > now:
                    wait = min(RETRY_AFTER_MAX, max(1, math.ceil((found.lease_until - now).total_seconds())))
                    raise Conflict(
                        f"A request with this {HEADER} is still being processed; retry shortly",
                        headers={"Retry-After": str(wait)},
                    )
            if await keys.take_over(store, found, mine):  # expired, or its attempt died without committing
                return await self._run(store, mine, work)
        raise Conflict(f"Too many concurrent requests with this {HEADER}; retry", headers={"Retry-After": "1"})

    async def _run(self, store: keys.Db, claim: Claim, work: Callable[[], Awaitable[T]]) -> Response:
        """The write, its answer recorded before the commit; the key settled after it."""

        async def settled(committed: bool) -> None:
            await _settle_quietly(keys.mark_done(store, claim) if committed else keys.release(store, claim))

        when_settled(self.db, settled)
        value, rows = await run_tracking_inserts(self.db, work)
        answer = await self._answer(value)
        lease_until = utc_now() + timedelta(seconds=LEASE_SECONDS)
        if not await keys.record(store, claim, answer, rows, lease_until):
            raise Conflict(
                f"A retry with this {HEADER} took over while this attempt was slow; this attempt wrote nothing",
                headers={"Retry-After": "1"},
            )
        return _response(answer, replayed=False)

    async def _answer(self, value: object) -> Answer:
        """The response FastAPI would send for the route's return value, with the headers the route set."""
        route = self.request.scope.get("route")
        if isinstance(value, Response):
            rendered = value
        elif isinstance(route, APIRoute):
            rendered = await _render(route, value, self.response.status_code or route.status_code or 200)
        else:
            rendered = JSONResponse(jsonable_encoder(value))
        raw = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in [*rendered.raw_headers, *self.response.raw_headers]
        ]
        headers = [(k, v) for k, v in raw if k.lower() not in _RECOMPUTED]
        body = bytes(rendered.body)
        return Answer(status=rendered.status_code, headers=headers, body=body, media_type=rendered.media_type)


async def _render(route: APIRoute, value: object, status: int) -> Response:
    """What FastAPI sends for ``value`` returned by ``route`` (as ``fastapi.routing.get_request_handler`` does)."""
    fast = route.response_field is not None and isinstance(route.response_class, DefaultPlaceholder)
    content = await serialize_response(
        field=route.response_field,
        response_content=value,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        dump_json=fast,
    )
    if fast:
        return Response(content, status_code=status, media_type="application/json")
    cls = route.response_class
    response: Response = (cls.value if isinstance(cls, DefaultPlaceholder) else cls)(content, status_code=status)
    return response


def _response(answer: Answer, replayed: bool) -> Response:
    response = Response(answer.body, status_code=answer.status, media_type=answer.media_type)
    for name, value in answer.headers:
        response.headers.append(name, value)
    if replayed:
        response.headers[REPLAYED] = "true"
    return response


async def _settle_quietly(step: Awaitable[None]) -> None:
    """A key's last step after the SQL settled: if the store misses it, a retry decides from SQL (see above)."""
    try:
        await step
    except (StoreUnavailable, StoreTimeout) as exc:
        log.warning("idempotency key left unsettled (%s); a retry decides from SQL", exc.detail)


async def once(
    request: Request,
    response: Response,
    identity: IdentityDep,
    state: StateDep,
    db: WriteSessionDep,
    documents: DocumentsDep,
    key: IdempotencyKey = None,
) -> Once:
    # an API key acts as its person, but its Idempotency-Keys are its own (apart from the logins and other keys)
    caller = f"key:{identity.apiKeyId}" if identity.apiKeyId else f"person:{identity.personId}"
    return Once(key, caller, state.settings.idempotency_hours, request, response, db, documents)


OnceDep = Annotated[Once, Depends(once)]
