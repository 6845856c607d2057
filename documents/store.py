"""The document store's client: created once in the app lifespan, indexes ensured, health probed."""

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from pymongo import AsyncMongoClient, MongoClient, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError

from documents.indexes import INDEXES
from schemas.errors import DomainError

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
RETRY_AFTER_SECONDS = 5
#: journaled writes: what ingest acknowledges survives a crash of the store, in the order it was written (the
#: rollups' fold protocol relies on it: metrics stored, then folded, then marked folded)
DURABLE = WriteConcern(j=True)


class StoreUnavailable(DomainError):
    status = 503
    title = "Document store unavailable"

    def __init__(self, detail: str = "The document store does not answer; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class StoreTimeout(DomainError):
    status = 504
    title = "Document store too slow"

    def __init__(self, detail: str = "The document store did not finish in time; narrow the request") -> None:
        super().__init__(detail)


def guarded(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A document-store call whose loss of connection answers 503 (with Retry-After), and whose operation over
    its time limit (a slow operation, not an outage) 504; never 500."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except ConnectionFailure as exc:
            logger.warning("document store unavailable: %s", exc)
            raise StoreUnavailable() from None
        except ExecutionTimeout:
            raise StoreTimeout() from None

    return wrapper


class _Database(AsyncDatabase[dict[str, Any]]):
    """The service's database: a collection handle is made on first use and kept (pymongo makes a new one at each
    attribute access, a tenth of a short read's time)."""

    def __getattr__(self, name: str) -> AsyncCollection[dict[str, Any]]:
        collection = super().__getattr__(name)
        self.__dict__[name] = collection
        return collection


class DocumentStore:
    """One ``AsyncMongoClient`` and the service's database on it. ``long_timeout_ms`` is for maintenance over
    whole collections: the socket and the monitor's checks then wait that long for a busy server (a single-threaded
    server answers nobody while it scans, and a failed check would interrupt the scan)."""

    def __init__(self, url: str, database: str, timeout_ms: int = 2000, long_timeout_ms: int | None = None) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=long_timeout_ms or timeout_ms,
            socketTimeoutMS=long_timeout_ms,
            tz_aware=True,
        )
        self.db: AsyncDatabase[dict[str, Any]] = _Database(self.client, database)
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

    @guarded
    async def ready(self) -> AsyncDatabase[dict[str, Any]]:
        """The database, once its indexes exist (writes rely on unique indexes); 503 while it is down."""
        if not self.indexes_ready:
            await self.db.command("ping")
            if not await self.ensure_indexes():
                raise StoreUnavailable()
        return self.db

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
        client: MongoClient[dict[str, Any]]
        with MongoClient(url, serverSelectionTimeoutMS=timeout_ms) as client:
            client.admin.command("ping")
    except PyMongoError:
        return False
    return True


async def count(
    collection: AsyncCollection[dict[str, Any]], query: dict[str, Any], max_ms: int, seen: int
) -> tuple[int, bool]:
    """(how many documents match, whether that is an estimate). A count taking over ``max_ms`` is stopped (a slow
    count is not an outage, and a single-threaded server answers nobody while it counts); the estimate is then
    ``seen``, the documents up to the end of the page read: a lower bound."""
    try:
        return await collection.count_documents(query, maxTimeMS=max_ms), False
    except ExecutionTimeout:
        return seen, True
