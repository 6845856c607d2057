"""One data collection from both stores: the SQL row with its auto-processing, and its documents."""

import asyncio
from typing import Any

from app.deps import Identity
from app.state import SESSIONS_KEPT, Kept
from documents import metrics, results, versions
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections, processings
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadOnlySession, ReadSession, beside


async def unified_datacollection(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    schema: SchemaInfo,
    dc_id: int,
    include: set[str],
    kept: Kept,
) -> dict[str, Any] | None:
    """The SQL collection with its auto-processing, and its documents (latest result per series, per-kind metric
    summaries). The collection, its auto-processing (on a second connection when the pool has one idle, else
    after it) and its session's versions (when this worker knows its session) are read concurrently; then
    what ``kept`` lacks at those versions. ``documents.available`` is false while the store is down."""
    if not include:
        return await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
    sibling = await beside(db)
    processing = (
        None
        if sibling is None
        else asyncio.ensure_future(processings.auto_integrations_of(sibling, identity.scope, schema, dc_id))
    )
    guessed = kept.sessions.get(dc_id)
    early = None if guessed is None else asyncio.ensure_future(kept.versions.current(store.db, guessed))
    try:
        item = await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
        if item is None:
            return None
        session_id = item["BLSession"]["sessionId"]
        _remember(kept.sessions, dc_id, session_id)

        async def documents() -> dict[str, Any]:
            part: dict[str, Any] = {"available": True}
            try:
                if early is not None and guessed == session_id:
                    current = await early
                else:
                    current = await kept.versions.current(store.db, session_id)
                if "results" in include:
                    part["results"] = await results.latest(store.db, dc_id, kept.results, current["results"])
                if "metrics" in include:
                    part["metrics"] = await metrics.summaries(store.db, dc_id, kept.summaries, current["metrics"])
            except StoreUnavailable:
                return {"available": False}
            return part

        sql = processing or processings.auto_integrations_of(db, identity.scope, schema, dc_id)
        auto_processing, doc_part = await asyncio.gather(sql, documents())
        return item | {"autoProcessing": auto_processing, "documents": doc_part}
    finally:
        _drop(early)
        if processing is not None and sibling is not None:
            _close_after(processing, sibling)


def _drop(read: "asyncio.Future[versions.Versions] | None") -> None:
    """Forget a versions' read started early if unused: cancelled (nothing if it is over), its outcome (a store
    error too) unseen."""
    if read is not None:
        read.cancel()
        read.add_done_callback(versions.seen)


def _close_after(read: "asyncio.Future[Any]", session: ReadOnlySession) -> None:
    """Close ``session`` once ``read`` on it is over, never during its query (whatever ended the request), and
    leave its outcome seen."""

    def close(done: "asyncio.Future[Any]") -> None:
        versions.seen(done)
        _closing.add(task := asyncio.ensure_future(session.close()))
        task.add_done_callback(_closing.discard)

    read.add_done_callback(close)


#: sessions being closed after their read (a reference keeps each task alive)
_closing: set["asyncio.Task[None]"] = set()


def _remember(sessions: dict[int, int], dc_id: int, session_id: int) -> None:
    if sessions.get(dc_id) != session_id:
        if len(sessions) >= SESSIONS_KEPT:
            del sessions[next(iter(sessions))]  # the one remembered first
        sessions[dc_id] = session_id
