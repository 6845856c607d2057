"""A session's summary from both stores: its collections, their SQL processing and their documents."""

from typing import Any

from app.deps import Identity
from documents import metrics, results
from documents.store import DocumentStore, StoreUnavailable
from relational import datacollections
from relational.read_sessions import ReadSession


async def session_summary(
    db: ReadSession, store: DocumentStore, identity: Identity, session_id: int
) -> dict[str, Any] | None:
    """Per data collection of a visible session: what it was, how SQL auto-processing went, and which
    document results (latest per series) and metrics it has."""
    rows = await datacollections.session_overview(db, identity.scope, session_id)
    if rows is None:
        return None
    available = True
    kinds_by_dc: dict[int, dict[str, Any]] = {}
    try:
        kinds_by_dc = await results.kinds_by_collection(store.db, session_id)
        counts = await metrics.counts_by_collection(store.db, session_id)
    except StoreUnavailable:
        available, counts = False, {}
    for row in rows:
        dc = row["dataCollectionId"]
        row["results"] = kinds_by_dc.get(dc, {})
        row["metrics"] = counts.get(dc, {})
    return {"sessionId": session_id, "documents": {"available": available}, "dataCollections": rows}
