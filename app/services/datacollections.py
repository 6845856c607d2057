"""One data collection from both stores: the SQL row with its auto-processing, and its documents."""

import asyncio
from typing import Any

from app.deps import Identity
from documents import metrics, results
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections, processings
from relational.common import Page
from relational.db import ReadSession
from relational.flavour import SchemaInfo


async def unified_datacollection(
    db: ReadSession, store: DocumentStore, identity: Identity, schema: SchemaInfo, dc_id: int, include: set[str]
) -> dict[str, Any] | None:
    """The SQL collection with its auto-processing, and its documents (latest result per series, per-kind metric
    summaries), the two stores queried concurrently; ``documents.available`` is false while the store is down."""
    item = await datacollections.get_datacollection(db, identity.scope, schema, dc_id)
    if item is None or not include:
        return item

    async def documents() -> dict[str, Any]:
        try:
            part: dict[str, Any] = {"available": True}
            if "results" in include:
                part["results"] = await results.latest_for_collection(store.db, dc_id)
            if "metrics" in include:
                part["metrics"] = await metrics.summaries(store.db, dc_id)
            return part
        except StoreUnavailable:
            return {"available": False}

    sql_part, doc_part = await asyncio.gather(
        processings.get_auto_integrations(db, identity.scope, schema, Page(0, 100), dc_id), documents()
    )
    return item | {"autoProcessing": sql_part[1], "documents": doc_part}
