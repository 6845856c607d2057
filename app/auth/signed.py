"""One-time signed URLs, for downloads a browser opens without an Authorization header (py-ispyb-ui's ``useSign``:
``POST /user/sign {"validity": <url>}``, then ``<url>?onetime=<token>``).

A token is a JWT signed with a key derived from ISPYB_JWT_SECRET (so a login token never passes for one, nor
the reverse), bound to the URL's path and query (scheme and host ignored; a reverse proxy's prefix before the path
is allowed), good for ISPYB_SIGN_SECONDS and once: its id goes into the document store when it is used, where
every worker sees it. The caller's permissions are re-read at use, never more than the signer held."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.auth.bounded import bounded
from app.deps import Identity, ReadSessionDep, StateDep, _bearer, current_identity, scope_for, standing_of
from app.files import caller_login
from app.state import AppState
from documents import signed
from documents.store import StoreTimeout, StoreUnavailable
from relational.read_sessions import ReadSession
from schemas.errors import FilesUnavailable, InvalidInput, NotFound, Unauthorized
from schemas.times import from_epoch, utc_now

ALGORITHM = "HS256"
AUDIENCE = "ispyb-signed-url"
#: what a route serving a file answers besides ``AUTHENTICATED``'s: for its ``responses()``
FILE_ERRORS = (NotFound, FilesUnavailable, StoreUnavailable, StoreTimeout)


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"ispyb-signed-url", hashlib.sha256).digest()


def _query(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """A query as compared: its pairs in order of key and value, without ``onetime``."""
    return sorted([k, v] for k, v in pairs if k != "onetime")


def sign(secret: str, seconds: float, identity: Identity, validity: str) -> str:
    """A one-time token for ``validity`` (an absolute URL, or a path with its query) and this caller."""
    url = urlsplit(validity)
    if not url.path.startswith("/"):
        raise InvalidInput("`validity` must be a URL or an absolute path, e.g. /ispyb/api/v1/...")
    now = utc_now()
    claims: dict[str, Any] = {
        "sub": identity.login,
        "personId": identity.personId,
        "permissions": identity.permissions,
        "path": unquote(url.path),
        "query": _query(parse_qsl(url.query, keep_blank_values=True)),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=seconds),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM)


async def onetime_identity(state: AppState, db: ReadSession, token: str, request: Request) -> Identity:
    """The caller a one-time token stands for, on the URL it was signed for, used now; ``Unauthorized`` saying why
    otherwise (invalid, expired, another URL, used, person gone)."""
    try:
        claims = jwt.decode(
            token,
            _key(state.settings.jwt_secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "jti", "path", "personId"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Signed URL expired, sign it again") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"Invalid one-time token: {exc}") from None
    path = request.scope["path"]
    if not str(claims["path"]).endswith(path) or claims.get("query") != _query(request.query_params.multi_items()):
        raise Unauthorized("This one-time token was signed for another URL")
    login, person_id = str(claims["sub"]), claims["personId"]
    found = await standing_of(state, db, person_id) if isinstance(person_id, int) else None
    if found is None or (found.login or "").casefold() != login.casefold():
        raise Unauthorized("The signed URL's person no longer exists")
    expires = from_epoch(claims["exp"])
    async with bounded(state.settings.mongo_timeout_ms):
        fresh = await signed.use(await state.documents.ready(), str(claims["jti"]), login, path, expires)
    if not fresh:
        raise Unauthorized("This signed URL was used already, sign it again")
    permissions = [p for p in claims.get("permissions", []) if p in found.permissions]
    scope = scope_for(state.settings, person_id, permissions)
    return Identity(login=login, personId=person_id, permissions=permissions, scope=scope)


async def file_caller(
    state: StateDep,
    db: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    request: Request,
    onetime: Annotated[
        str | None, Query(max_length=4096, description="A one-time token from POST /user/sign for this URL")
    ] = None,
) -> Identity:
    """The caller of a file route: from ``Authorization: Bearer``, or else from a one-time token."""
    if onetime and credentials is None and not request.headers.get("Authorization"):
        identity = await onetime_identity(state, db, onetime, request)
    else:
        identity = await current_identity(credentials, request)
    caller_login.set(identity.login)
    return identity


FileCallerDep = Annotated[Identity, Depends(file_caller)]
