"""One data collection from both stores: the SQL row with its auto-processing, and its documents."""

import asyncio
from typing import Any

from app.deps import Identity
from app.state import Kept
from documents import metrics, results, versions
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections, processings
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession


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
    summaries). Once the collection is known to be in reach, its SQL auto-processing and its documents are read
    concurrently: one round trip for its session's versions, more only for what ``kept`` lacks at those
    versions. ``documents.available`` is false while the store is down."""
    item = await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
    if item is None or not include:
        return item
    session_id = item["BLSession"]["sessionId"]

    async def documents() -> dict[str, Any]:
        part: dict[str, Any] = {"available": True}
        try:
            current = await versions.current(store.db, session_id)
            if "results" in include:
                part["results"] = await results.latest(store.db, dc_id, kept.results, current["results"])
            if "metrics" in include:
                part["metrics"] = await metrics.summaries(store.db, dc_id, kept.summaries, current["metrics"])
        except StoreUnavailable:
            return {"available": False}
        return part

    auto_processing, doc_part = await asyncio.gather(
        processings.auto_integrations_of(db, identity.scope, schema, dc_id), documents()
    )
    return item | {"autoProcessing": auto_processing, "documents": doc_part}
