"""Refresh tokens (collection ``refresh_tokens``) and their families (``refresh_families``: one per login).

Only a token's SHA-256 is kept (its ``_id``), with its family, person, expiry and when it was used. A family is
revoked as a whole, on its own document: every refresh reads it, so a token added while it is being revoked is
refused too. Both collections expire by TTL index on ``expiresAt`` (and readers compare it themselves)."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@guarded
async def start_family(db: Db, family: dict[str, Any], token: dict[str, Any]) -> None:
    """A login's family and its first token."""
    await db.refresh_families.insert_one(family)
    await db.refresh_tokens.insert_one(token)


@guarded
async def token(db: Db, digest: str) -> dict[str, Any] | None:
    return await db.refresh_tokens.find_one({"_id": digest})


@guarded
async def family(db: Db, family_id: str) -> dict[str, Any] | None:
    return await db.refresh_families.find_one({"_id": family_id})


@guarded
async def claim(db: Db, digest: str, now: datetime) -> bool:
    """Mark a token used; False when it already was (by this request's twin or earlier)."""
    before = await db.refresh_tokens.find_one_and_update({"_id": digest, "usedAt": None}, {"$set": {"usedAt": now}})
    return before is not None


@guarded
async def add_successor(db: Db, successor: dict[str, Any]) -> None:
    """Store a token's successor once (a repeat within the grace window derives the same one), and keep its
    family as long as its newest token."""
    await db.refresh_tokens.update_one({"_id": successor["_id"]}, {"$setOnInsert": successor}, upsert=True)
    await db.refresh_families.update_one({"_id": successor["family"]}, {"$max": {"expiresAt": successor["expiresAt"]}})


@guarded
async def revoke_family(db: Db, family_id: str, now: datetime) -> None:
    await db.refresh_families.update_one({"_id": family_id, "revokedAt": None}, {"$set": {"revokedAt": now}})
