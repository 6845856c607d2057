"""Idempotency-Keys (collection ``idempotency``): one document per caller and key, claimed before a write runs,
holding the write's answer once it is known. Each claim carries a random ``token``; every change after the claim is
conditional on it, so an attempt whose claim a retry took over can change nothing.

States: ``pending`` (the write runs), ``committing`` (its answer and the rows it created are recorded; the SQL
commit follows), ``done``. Documents expire at ``expiresAt`` (a TTL index; readers check it too, as a store that
runs no TTL monitor keeps expired documents)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from documents.store import DURABLE, guarded

Db = AsyncDatabase[dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """A response as first sent: replayed byte for byte."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    media_type: str | None


@dataclass(frozen=True)
class Claim:
    """One caller's use of one key."""

    id: str
    request: str  #: the request's fingerprint (method, path, query, body)
    token: str
    state: str
    lease_until: datetime
    expires_at: datetime
    answer: Answer | None = None
    rows: list[dict[str, Any]] | None = None  #: the SQL rows the write created (``relational.idempotency.RowRef``)


def canonical(value: Any) -> bytes:
    """A JSON value's one text: keys sorted, no spaces (two values compare equal as texts)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def digest(value: Any) -> str:
    """What makes two document writes under one key the same write: their JSON value (key order ignored)."""
    return hashlib.sha256(canonical(value)).hexdigest()


def _doc(claim: Claim) -> dict[str, Any]:
    return {
        "_id": claim.id,
        "request": claim.request,
        "token": claim.token,
        "state": claim.state,
        "leaseUntil": claim.lease_until,
        "expiresAt": claim.expires_at,
    }


def _claim(doc: dict[str, Any]) -> Claim:
    answer = doc.get("answer")
    return Claim(
        id=doc["_id"],
        request=doc["request"],
        token=doc["token"],
        state=doc["state"],
        lease_until=doc["leaseUntil"],
        expires_at=doc["expiresAt"],
        answer=Answer(
            status=answer["status"],
            headers=[(k, v) for k, v in answer["headers"]],
            body=bytes(answer["body"]),
            media_type=answer.get("mediaType"),
        )
        if answer
        else None,
        rows=doc.get("rows"),
    )


@guarded
async def claim(db: Db, new: Claim) -> Claim | None:
    """Take the key for a new attempt: None when it is taken, else ``new``."""
    try:
        await db.idempotency.insert_one(_doc(new))
    except DuplicateKeyError:
        return None
    return new


@guarded
async def take_over(db: Db, old: Claim, new: Claim) -> bool:
    """Replace ``old`` (expired, or left by an attempt that died) by ``new``, unless it changed meanwhile."""
    found = await db.idempotency.replace_one({"_id": old.id, "token": old.token}, _doc(new))
    return found.matched_count == 1


@guarded
async def find(db: Db, claim_id: str) -> Claim | None:
    doc = await db.idempotency.find_one({"_id": claim_id})
    return _claim(doc) if doc else None


@guarded
async def record(db: Db, claim: Claim, answer: Answer, rows: list[dict[str, Any]], lease_until: datetime) -> bool:
    """Keep the answer and the created rows before the SQL commit (journaled: a store that crashes after the commit
    still has them); False when the claim is no longer ours."""
    stored = {"status": answer.status, "headers": answer.headers, "body": answer.body, "mediaType": answer.media_type}
    found = await db.idempotency.with_options(write_concern=DURABLE).update_one(
        {"_id": claim.id, "token": claim.token, "state": "pending"},
        {"$set": {"state": "committing", "answer": stored, "rows": rows, "leaseUntil": lease_until}},
    )
    return found.matched_count == 1


@guarded
async def mark_done(db: Db, claim: Claim) -> None:
    """The write is committed: its answer is final."""
    await db.idempotency.update_one({"_id": claim.id, "token": claim.token}, {"$set": {"state": "done"}})


@guarded
async def release(db: Db, claim: Claim) -> None:
    """The write was rolled back: the key is free again."""
    await db.idempotency.delete_one({"_id": claim.id, "token": claim.token})
