"""API keys (collection ``api_keys``): service identities. ``_id`` is the key's public id; the secret is kept only
as its SHA-256 (``secretHash``). Keys are never deleted: a revoked or expired one stays listed."""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@guarded
async def insert(db: Db, key: dict[str, Any]) -> None:
    await db.api_keys.insert_one(key)


@guarded
async def find(db: Db, key_id: str) -> dict[str, Any] | None:
    return await db.api_keys.find_one({"_id": key_id})


@guarded
async def listing(db: Db) -> list[dict[str, Any]]:
    """Every key, newest first."""
    return await db.api_keys.find({}).sort([("createdAt", DESCENDING), ("_id", DESCENDING)]).to_list()


@guarded
async def revoke(db: Db, key_id: str, now: datetime) -> dict[str, Any] | None:
    """The key, revoked now unless it already was (then its first revocation stands); None: no such key."""
    await db.api_keys.update_one({"_id": key_id, "revokedAt": None}, {"$set": {"revokedAt": now}})
    return await db.api_keys.find_one({"_id": key_id})
