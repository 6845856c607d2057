"""API keys: named service identities (pipelines, beamline software) acting as a Person with an explicit subset of
that person's permissions, until they expire or are revoked. Kept in the document store (``documents/api_keys.py``),
the secret only as its SHA-256; the facility database gets nothing.

A key reads ``ispyb_<keyId>_<secret>``. Look-ups are cached for ``permission_cache_seconds`` (so a revocation
takes effect within that time); while the document store is down a cached key still works until its entry
expires, an uncached one answers 503 (fail closed)."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

from app.auth.bounded import bounded
from app.settings import Settings
from documents import api_keys
from documents.store import DocumentStore
from relational import people
from relational.read_sessions import ReadSession
from schemas.auth import ApiKey, ApiKeyCreate, ApiKeyCreated, Creator
from schemas.errors import InvalidInput, NotFound, Unauthorized
from schemas.times import utc_now

PREFIX = "ispyb_"
KEY = re.compile(r"^ispyb_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
#: a key's public id: 16 hexadecimal characters
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"


@dataclass(frozen=True)
class StoredKey:
    """A key as kept, less nothing: ``secretHash`` is what a presented secret is compared with."""

    keyId: str
    name: str
    login: str
    personId: int
    permissions: list[str]
    secretHash: str
    createdAt: datetime
    createdBy: dict[str, Any]
    expiresAt: datetime
    revokedAt: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> "StoredKey":
        return cls(keyId=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})

    def shown(self) -> ApiKey:
        return ApiKey(
            keyId=self.keyId,
            name=self.name,
            login=self.login,
            personId=self.personId,
            permissions=self.permissions,
            createdAt=self.createdAt,
            createdBy=Creator.model_validate(self.createdBy),
            expiresAt=self.expiresAt,
            revokedAt=self.revokedAt,
        )


@dataclass
class KeyCache:
    """keyId -> (expires at, monotonic, the key as last read); only keys that exist are kept."""

    entries: dict[str, tuple[float, StoredKey]] = field(default_factory=dict)

    def get(self, key_id: str) -> StoredKey | None:
        cached = self.entries.get(key_id)
        return cached[1] if cached and cached[0] > monotonic() else None

    def put(self, key: StoredKey, seconds: float) -> None:
        self.entries[key.keyId] = (monotonic() + seconds, key)

    def drop(self, key_id: str) -> None:
        self.entries.pop(key_id, None)


def is_key(bearer: str) -> bool:
    """Whether a bearer credential is meant as an API key (our JWTs never start so)."""
    return bearer.startswith(PREFIX)


def _ms(moment: datetime) -> datetime:
    """A moment as the document store keeps it (milliseconds), so what is answered at once is what is listed."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def check(store: DocumentStore, cache: KeyCache, settings: Settings, bearer: str) -> StoredKey:
    """The good key a bearer credential is; ``Unauthorized`` saying why not (malformed, unknown, wrong secret,
    revoked, expired)."""
    parsed = KEY.match(bearer)
    if parsed is None:
        raise Unauthorized("Malformed API key: expected ispyb_<16 hex>_<43 characters>")
    key = cache.get(parsed["id"])
    if key is None:
        async with bounded(settings.mongo_timeout_ms):
            doc = await api_keys.find(await store.ready(), parsed["id"])
        if doc is None:
            raise Unauthorized("Unknown API key")
        key = StoredKey.of(doc)
        cache.put(key, settings.permission_cache_seconds)
    if not hmac.compare_digest(key.secretHash, _hash(parsed["secret"])):
        raise Unauthorized("Invalid API key")
    if key.revokedAt is not None:
        raise Unauthorized(f"API key `{key.name}` was revoked at {key.revokedAt.isoformat()}")
    if key.expiresAt <= utc_now():
        raise Unauthorized(f"API key `{key.name}` expired at {key.expiresAt.isoformat()}")
    return key


def grantable(settings: Settings, held: list[str]) -> frozenset[str]:
    """The permissions a key manager holding ``held`` may put on a key: their own, and every beamline group's when
    they reach every proposal (a group's reach is part of theirs). Nobody hands out more than they hold."""
    groups = {g.permission for g in settings.beamline_groups} if "all_proposals" in held else set()
    return frozenset(held) | groups


async def create(
    store: DocumentStore,
    db: ReadSession,
    max_days: int,
    creator: Creator,
    data: ApiKeyCreate,
    granting: frozenset[str],
) -> ApiKeyCreated:
    """A new key for an existing person, with permissions that person holds now and the creator may grant
    (``granting``); its secret is answered once."""
    person = await people.person_by_login(db, data.login)
    standing = None if person is None else await people.standing(db, person.personId)
    if person is None or standing is None or standing.login is None:
        raise InvalidInput(f"login: no person has the login `{data.login}`")
    wanted = sorted(set(data.permissions))
    if beyond := [p for p in wanted if p not in granting]:
        raise InvalidInput(f"permissions: you may not grant {', '.join(beyond)} (you do not hold it)")
    if missing := [p for p in wanted if p not in standing.permissions]:
        raise InvalidInput(f"permissions: `{standing.login}` does not hold {', '.join(missing)}")
    now = _ms(utc_now())
    longest = now + timedelta(days=max_days)
    if data.days is not None and data.days > max_days:
        raise InvalidInput(f"days: at most {max_days}")
    expires = _ms(data.expiresAt or now + timedelta(days=data.days or max_days))
    if not now < expires <= longest:
        raise InvalidInput(f"expiresAt: must be in the future and at most {max_days} days away")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    key = StoredKey(
        keyId=key_id,
        name=data.name,
        login=standing.login,
        personId=person.personId,
        permissions=wanted,
        secretHash=_hash(secret),
        createdAt=now,
        createdBy=creator.model_dump(),
        expiresAt=expires,
        revokedAt=None,
    )
    doc = {"_id": key_id} | {k: v for k, v in vars(key).items() if k != "keyId"}
    await api_keys.insert(await store.ready(), doc)
    return ApiKeyCreated(**key.shown().model_dump(), key=f"{PREFIX}{key_id}_{secret}")


async def listing(store: DocumentStore) -> list[ApiKey]:
    return [StoredKey.of(doc).shown() for doc in await api_keys.listing(await store.ready())]


async def revoke(store: DocumentStore, cache: KeyCache, key_id: str) -> ApiKey:
    """Revoke a key (again: its first revocation stands); this process forgets it at once, others within their
    cache time."""
    doc = await api_keys.revoke(await store.ready(), key_id, utc_now())
    if doc is None:
        raise NotFound(f"API key {key_id} not found")
    cache.drop(key_id)
    return StoredKey.of(doc).shown()
