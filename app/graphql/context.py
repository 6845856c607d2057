"""What every GraphQL resolver reaches through ``info.context``: one per request.

Interface (``Context``):

- ``identity``: the caller (``app.deps.Identity``); ``identity.scope`` is the ``relational.scope.Scope`` every
  relational read takes.
- ``db``: the request's one ``ReadSession`` (never write through it; resolvers of one request share it, so reads on
  it run one at a time: an ``asyncio.Lock`` guards it, take ``async with context.sql:`` around each statement).
- ``documents``: the ``DocumentStore``; ``await context.document_scope()`` is the caller's Mongo scope filter
  (``app.deps.document_scope``), computed once per request; ``await context.close()`` once the query has run.
- ``settings``, ``state`` and ``schema``: the app's ``Settings``, ``AppState`` and the database's ``SchemaInfo``.
- ``loader(name, load)``: the request's ``DataLoader`` called ``name``, created on first use with the batch function
  ``load`` (keys -> values in the same order); later calls with the same name return the same loader, so every
  resolver asking for it joins one batch. Names are module-qualified by habit (``"sessions.of_proposals"``).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from app.deps import Identity, document_scope
from app.settings import Settings
from app.state import AppState
from documents.store import DocumentStore
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession

K = TypeVar("K")
V = TypeVar("V")


class Context(BaseContext):
    """One request's caller, stores and loaders (see the module docstring)."""

    def __init__(self, identity: Identity, db: ReadSession, documents: DocumentStore, state: AppState) -> None:
        super().__init__()
        self.identity = identity
        self.db = db
        self.documents = documents
        self.state = state
        self.settings: Settings = state.settings
        assert state.database.schema is not None  # the lifespan detected it before serving
        self.schema: SchemaInfo = state.database.schema
        #: one statement at a time on ``db`` (an AsyncSession is not safe for concurrent use)
        self.sql = asyncio.Lock()
        self._loaders: dict[str, DataLoader[Any, Any]] = {}
        self._document_scope: asyncio.Task[dict[str, Any]] | None = None

    def loader(self, name: str, load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
        """The request's loader ``name``, made with ``load`` the first time it is asked for."""
        found = self._loaders.get(name)
        if found is None:
            found = self._loaders[name] = DataLoader(load_fn=load)
        return cast(DataLoader[K, V], found)

    async def document_scope(self) -> dict[str, Any]:
        """The caller's Mongo scope filter, read once per request (concurrent callers share the one read)."""
        if self._document_scope is None:
            self._document_scope = asyncio.ensure_future(self._read_document_scope())
        return await asyncio.shield(self._document_scope)

    async def close(self) -> None:
        """Stop the scope's read if it still runs (the query was stopped at its time limit while it ran), before
        the request's session closes: shielded from its callers' cancellation, it would go on using the session's
        connection while the session rolls back on it."""
        if self._document_scope is not None and not self._document_scope.done():
            self._document_scope.cancel()
        if self._document_scope is not None:
            await asyncio.gather(self._document_scope, return_exceptions=True)

    async def _read_document_scope(self) -> dict[str, Any]:
        async with self.sql:
            return await document_scope(self.db, self.identity.scope)
