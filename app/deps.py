"""Request dependencies: state, database sessions, the caller's identity, paging. Use the Annotated aliases."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from time import monotonic
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import api_keys, tokens
from app.settings import Settings
from app.state import AppState
from documents.scope import within
from documents.store import DocumentStore
from relational import people
from relational.common import Page
from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.people import Standing
from relational.reach import AcquisitionRule, reach_of
from relational.read_sessions import ReadOnlySession, ReadSession
from relational.scope import Scope
from schemas.errors import Unauthorized

MAX_LIMIT = 10_000
MAX_SKIP = 2**31 - 1


def state_of(request: Request) -> AppState:
    """The service's state. The dependencies below take the request rather than ``StateDep``: each dependency
    FastAPI solves costs ~15 us a request, and a one-row read is ~1.3 ms."""
    state: AppState = request.app.state.ispyb
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_documents(request: Request) -> DocumentStore:
    return state_of(request).documents


DocumentsDep = Annotated[DocumentStore, Depends(get_documents)]


#: the request scope's key under which a route (``app.routers.routing.Route``) keeps the read sessions its
#: dependencies opened, to close them once its handler has returned
OPENED = "ispyb.read_sessions"


async def read_session(request: Request) -> ReadSession:
    """A session for reads that refuses every write (``ReadOnlySession``) on the read pool (autocommit: closing it
    hands the connection back with no round trip), closed by the route once its handler has returned: before the
    answer is sent, so a pool smaller than the requests in flight serves them in turn instead of starving some.
    A plain dependency rather than a generator: FastAPI's exit of a generator dependency (shielded by an anyio
    cancel scope) and the shielded task it closed in cost ~12 % of a one-row read (``bench/README.md``)."""
    opened: list[ReadOnlySession] | None = request.scope.get(OPENED)
    if opened is None:
        raise RuntimeError(f"{request.url.path}: a read session needs a route that closes it (routing.Route)")
    session = state_of(request).database.read_sessions()
    opened.append(session)
    return session


async def close_opened(opened: list[ReadOnlySession]) -> None:
    """Close the read sessions a request opened, to the end even if the request is cancelled meanwhile."""
    for session in opened:
        await session.close_shielded()


async def streaming_read_session(request: Request) -> AsyncIterator[ReadSession]:
    """A read session open until the answer is sent."""
    async with state_of(request).database.read_sessions() as session:
        yield session


ReadSessionDep = Annotated[ReadSession, Depends(read_session)]
#: open until the answer is sent: for an answer streamed from the database (the exports)
StreamingReadSessionDep = Annotated[ReadSession, Depends(streaming_read_session)]


Settled = Callable[[bool], Awaitable[None]]


def when_settled(session: WriteSession, callback: Settled) -> None:
    """Call ``callback(committed)`` once the request's unit of work is committed (True) or rolled back (False)."""
    session.info.setdefault("settled", []).append(callback)


async def _settle(session: WriteSession, committed: bool) -> None:
    for callback in session.info.pop("settled", []):
        await callback(committed)


async def write_session(request: Request) -> AsyncIterator[WriteSession]:
    """The request's unit of work: committed when the handler returns, rolled back when it raises, before the
    response is sent (so a failed commit never answers success); then what waited on it (``when_settled``)."""
    async with state_of(request).database.write_sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            await _settle(session, committed=False)
            raise
        await _settle(session, committed=True)


WriteSessionDep = Annotated[WriteSession, Depends(write_session, scope="function")]


async def get_schema(request: Request) -> SchemaInfo:
    schema = state_of(request).database.schema
    assert schema is not None
    return schema


SchemaDep = Annotated[SchemaInfo, Depends(get_schema)]


@dataclass(frozen=True)
class Identity:
    login: str
    personId: int
    permissions: list[str]
    scope: Scope
    #: the API key the caller authenticated with (None: a login's token)
    apiKeyId: str | None = None


async def standing_of(state: AppState, db: ReadSession | None, person_id: int, fresh: bool = False) -> Standing | None:
    """A person's login and permissions (None: no such person), re-read from the database once the cached copy
    is older than the setting, or at once when ``fresh``. A person's absence is cached like their permissions.
    Read with ``db``, or with None on a session of its own opened only when the cache does not answer."""
    now = monotonic()
    cached = state.permissions.get(person_id)
    if cached and cached[0] > now and not fresh:
        return cached[1]
    if db is None:
        async with state.database.read_sessions() as own:
            found = await people.standing(own, person_id)
    else:
        found = await people.standing(db, person_id)
    state.permissions[person_id] = (now + state.settings.permission_cache_seconds, found)
    return found


_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login, or an API key")


async def current_identity(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)], request: Request
) -> Identity:
    """The caller, from ``Authorization: Bearer`` (a token or an API key); 401 with the reason otherwise. No
    database session of the request's: the cache of people's standing answers most requests."""
    state = state_of(request)
    if credentials is None:
        header = request.headers.get("Authorization")
        raise Unauthorized("No token provided" if not header else "Authorization header must be `Bearer <token>`")
    if api_keys.is_key(credentials.credentials):
        return await key_identity(state, credentials.credentials)
    login, person_id = tokens.verify(state.settings.jwt_secret, credentials.credentials)
    found = await standing_of(state, None, person_id)
    if found is None or (found.login or "").casefold() != login.casefold():
        raise Unauthorized("The token's person no longer exists, please log in again")
    scope = scope_for(state.settings, person_id, found.permissions)
    return Identity(login=login, personId=person_id, permissions=found.permissions, scope=scope)


async def key_identity(state: AppState, bearer: str) -> Identity:
    """An API key's caller: its person, with the key's permissions that the person still holds."""
    s = state.settings
    key = await api_keys.check(state.documents, state.api_keys, s, bearer)
    found = await standing_of(state, None, key.personId)
    if found is None or found.login is None or found.login.casefold() != key.login.casefold():
        raise Unauthorized(f"API key `{key.name}`: its person `{key.login}` no longer exists")
    permissions = [p for p in key.permissions if p in found.permissions]
    scope = scope_for(s, key.personId, permissions)
    return Identity(login=found.login, personId=key.personId, permissions=permissions, scope=scope, apiKeyId=key.keyId)


def scope_for(settings: Settings, person_id: int, permissions: list[str]) -> Scope:
    """A person's reach from their permissions and the configured beamline groups."""
    beamlines = frozenset(
        b.beamLineName for group in settings.beamline_groups if group.permission in permissions for b in group.beamLines
    )
    return Scope(person_id=person_id, all_proposals="all_proposals" in permissions, beamlines=beamlines)


IdentityDep = Annotated[Identity, Depends(current_identity)]


@dataclass(frozen=True)
class Acquirer:
    """A caller writing acquisition records, and the rule saying into which sessions."""

    identity: Identity
    rule: AcquisitionRule


async def acquirer(identity: IdentityDep, request: Request) -> Acquirer:
    s = state_of(request).settings
    rule = AcquisitionRule(
        any_session=s.acquisition_permission in identity.permissions, members=s.acquisition_by_members
    )
    return Acquirer(identity, rule)


AcquirerDep = Annotated[Acquirer, Depends(acquirer)]


async def document_scope(db: ReadSession, scope: Scope) -> dict[str, Any]:
    """The Mongo filter of what the caller sees: the same proposals and sessions as in SQL."""
    reach = await reach_of(db, scope)
    return within(None) if reach is None else within(reach.proposals, reach.sessions)


async def pagination(
    skip: Annotated[int, Query(ge=0, le=MAX_SKIP, description="Results to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Number of results to show")] = 25,
) -> Page:
    return Page(skip=skip, limit=limit)


PageDep = Annotated[Page, Depends(pagination)]
