"""Signed URLs' used tokens (collection ``signed_urls``): a token's id is inserted when it is used, so a second use,
in this worker or another, finds it there. Documents expire at ``expiresAt`` with their token (a TTL index)."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@guarded
async def use(db: Db, token_id: str, login: str, path: str, expires_at: datetime) -> bool:
    """Mark a token used; False when it already was."""
    try:
        await db.signed_urls.insert_one({"_id": token_id, "login": login, "path": path, "expiresAt": expires_at})
    except DuplicateKeyError:
        return False
    return True
