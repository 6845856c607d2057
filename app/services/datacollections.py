"""One data collection from both stores: the SQL row with its auto-processing, and its documents."""

import asyncio
from collections.abc import Awaitable
from typing import Any

from app.deps import Identity
from documents import metrics, results
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections, processings
from relational.common import Page
from relational.db import ReadSession
from relational.flavour import SchemaInfo


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
    summaries, kept in ``summaries`` while its session gains no metric): the SQL read and each document read run
    concurrently once the collection is known to be in reach; ``documents.available`` is false while the store is
    down."""
    item = await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
    if item is None or not include:
        return item
    session_id = item["BLSession"]["sessionId"]

    async def documents() -> dict[str, Any]:
        reads: dict[str, Awaitable[list[dict[str, Any]]]] = {}
        if "results" in include:
            reads["results"] = results.latest_for_collection(store.db, dc_id)
        if "metrics" in include:
            reads["metrics"] = metrics.summaries(store.db, dc_id, session_id, summaries)
        try:
            found = await asyncio.gather(*reads.values())
        except StoreUnavailable:
            return {"available": False}
        return {"available": True, **dict(zip(reads, found, strict=True))}

    sql_part, doc_part = await asyncio.gather(
        processings.get_auto_integrations(db, identity.scope, schema, Page(0, 100), dc_id), documents()
    )
    return item | {"autoProcessing": sql_part[1], "documents": doc_part}
