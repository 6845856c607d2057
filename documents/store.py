"""The document store's client: created once in the app lifespan, indexes ensured, health probed."""

import logging
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from documents.indexes import INDEXES

logger = logging.getLogger(__name__)


class DocumentStore:
    """One ``AsyncMongoClient`` and the service's database on it."""

    def __init__(self, url: str, database: str, timeout_ms: int = 2000) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            tz_aware=True,
        )
        self.db: AsyncDatabase[dict[str, Any]] = self.client[database]
        self.indexes_ready = False

    async def ensure_indexes(self) -> bool:
        """Create the declared indexes (idempotent). False, and logged, when the store is unreachable."""
        try:
            for collection, indexes in INDEXES.items():
                await self.db[collection].create_indexes(indexes)
        except PyMongoError as exc:
            logger.warning("document store: indexes not ensured yet (%s)", exc)
            return False
        self.indexes_ready = True
        return True

    async def health(self) -> dict[str, Any]:
        """``{"state": "ok"|"unavailable", ...}``; retries the index set-up once the store answers."""
        try:
            await self.db.command("ping")
        except PyMongoError as exc:
            return {"state": "unavailable", "error": type(exc).__name__}
        if not self.indexes_ready:
            await self.ensure_indexes()
        return {"state": "ok", "database": self.db.name, "indexes": self.indexes_ready}

    async def close(self) -> None:
        await self.client.close()


def answers(url: str, timeout_ms: int = 500) -> bool:
    """Whether a document server at ``url`` answers a ping (blocking; for launchers and tools)."""
    try:
        with MongoClient(url, serverSelectionTimeoutMS=timeout_ms) as client:
            client.admin.command("ping")
    except PyMongoError:
        return False
    return True
