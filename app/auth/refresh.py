"""Refresh tokens: opaque, single use, rotated along a family (the chain of one login), kept only as SHA-256
hashes in the document store (``documents/refresh_tokens.py``); the facility database gets nothing.

A token's successor is ``HMAC(jwt_secret, its hash)``: a repeat within ``refresh_grace_seconds`` (MXCuBE's
greenlets refreshing at once) derives the same successor, so nothing secret is stored. A used token presented
after the grace window revokes its whole family (a stolen token and its rightful owner cannot both go on)."""

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.auth.bounded import bounded
from app.deps import standing_of
from app.state import AppState
from documents import refresh_tokens
from documents.store import StoreTimeout, StoreUnavailable
from relational.read_sessions import ReadSession
from schemas.errors import Unauthorized
from schemas.times import utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Renewed:
    """Who a refresh token stands for, now, and its successor."""

    login: str
    personId: int
    permissions: list[str]
    refreshToken: str


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256, hexadecimal."""
    return hashlib.sha256(token.encode()).hexdigest()


def successor(secret: str, parent_digest: str) -> str:
    """The token that follows a token of this hash: the same for every repeat."""
    mac = hmac.new(secret.encode(), b"refresh-successor:" + parent_digest.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


async def start(state: AppState, login: str, person_id: int) -> str | None:
    """A new family's first token for a login that just succeeded; None (logged) when the document store cannot
    keep it: the login still answers (MXCuBE then works until the access token expires)."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    expires = now + timedelta(hours=state.settings.refresh_token_hours)
    family_id = secrets.token_hex(12)
    owner = {"personId": person_id, "login": login}
    try:
        async with bounded(state.settings.mongo_timeout_ms):
            await refresh_tokens.start_family(
                await state.documents.ready(),
                {"_id": family_id, **owner, "createdAt": now, "expiresAt": expires, "revokedAt": None},
                {
                    "_id": digest(token),
                    "family": family_id,
                    **owner,
                    "createdAt": now,
                    "expiresAt": expires,
                    "usedAt": None,
                },
            )
    except (StoreUnavailable, StoreTimeout):
        logger.warning("login of %s answered without a refresh token: the document store is unavailable", login)
        return None
    return token


async def rotate(state: AppState, db: ReadSession, token: str) -> Renewed:
    """The successor of a good token and its person as they are now; ``Unauthorized`` saying why otherwise
    (unknown, expired, revoked, reused after the grace window, person gone); 503 while the store is down."""
    settings, now, parent = state.settings, utc_now(), digest(token)
    async with bounded(settings.mongo_timeout_ms):
        store = await state.documents.ready()
        found = await refresh_tokens.token(store, parent)
        family = None if found is None else await refresh_tokens.family(store, found["family"])
    if found is None:
        raise Unauthorized("Unknown refresh token, please log in again")
    if family is None or family["revokedAt"] is not None:
        raise Unauthorized("Refresh token revoked (a used one was presented again), please log in again")
    if found["usedAt"] is None and found["expiresAt"] <= now:
        raise Unauthorized("Refresh token expired, please log in again")
    standing = await standing_of(state, db, found["personId"], fresh=True)
    if standing is None or standing.login is None or standing.login.casefold() != found["login"].casefold():
        raise Unauthorized("The refresh token's person no longer exists, please log in again")
    renewed = successor(settings.jwt_secret, parent)
    async with bounded(settings.mongo_timeout_ms):
        if not await refresh_tokens.claim(store, parent, now):
            await _used_again(store, settings.refresh_grace_seconds, found, digest(renewed), now)
        await refresh_tokens.add_successor(
            store,
            {"_id": digest(renewed), "family": found["family"], "personId": found["personId"],
             "login": found["login"], "parent": parent, "createdAt": now,
             "expiresAt": now + timedelta(hours=settings.refresh_token_hours), "usedAt": None},
        )  # fmt: skip
    return Renewed(standing.login, found["personId"], standing.permissions, renewed)


async def _used_again(
    store: refresh_tokens.Db, grace_seconds: float, found: dict[str, Any], renewed: str, now: datetime
) -> None:
    """A used token again: fine within the grace window, or when its successor was never stored (the first
    attempt failed, so nobody holds it); otherwise its family is revoked and ``Unauthorized``."""
    used = (await refresh_tokens.token(store, found["_id"]) or found)["usedAt"]
    within = used is not None and now - used <= timedelta(seconds=grace_seconds)
    if within or await refresh_tokens.token(store, renewed) is None:
        return
    await refresh_tokens.revoke_family(store, found["family"], now)
    logger.warning("refresh token of %s reused: its family %s is revoked", found["login"], found["family"])
    raise Unauthorized("Refresh token already used: every token of its login is revoked, please log in again")
