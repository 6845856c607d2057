"""One data collection from both stores: the SQL row with its auto-processing, and its documents."""

import asyncio
from typing import Any

from app.deps import Identity
from documents import metrics, results
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections, processings
from relational.common import Page
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession


async def unified_datacollection(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    schema: SchemaInfo,
    dc_id: int,
    include: set[str],
    summaries: metrics.SummaryCache,
) -> dict[str, Any] | None:
    """The SQL collection with its auto-processing, and its documents (latest result per series, per-kind metric
    summaries, kept in ``summaries`` while its session gains no metric). Once the collection is known to be in
    reach, its SQL auto-processing and its documents are read concurrently: one round trip for the results and the
    metric version, a second only for metrics not kept. ``documents.available`` is false while the store is down."""
    item = await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
    if item is None or not include:
        return item
    session_id = item["BLSession"]["sessionId"]

    async def documents() -> dict[str, Any]:
        part: dict[str, Any] = {"available": True}
        current = None
        try:
            if "results" in include:  # with the metric version, in the same round trip
                part["results"], current = await results.latest_with_metric_version(store.db, dc_id, session_id)
            if "metrics" in include:
                part["metrics"] = await metrics.summaries(store.db, dc_id, session_id, summaries, current)
        except StoreUnavailable:
            return {"available": False}
        return part

    sql_part, doc_part = await asyncio.gather(
        processings.get_auto_integrations(db, identity.scope, schema, Page(0, 100), dc_id), documents()
    )
    return item | {"autoProcessing": sql_part[1], "documents": doc_part}
