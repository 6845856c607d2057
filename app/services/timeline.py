"""One session's timeline from both stores: its SQL events, logbook entries and results merged in time order.

Each store gives its first ``limit + 1`` events after the cursor (SQL and the documents at once); the merge keeps
the first ``limit`` and the key of the last one is the next cursor. The document store being down leaves the SQL
events, with ``documents.available`` false.
"""

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from app.deps import Identity
from documents import timeline as stored
from documents.scope import SESSION_FIELDS, one_session
from documents.store import DocumentStore, StoreTimeout, StoreUnavailable
from relational import timeline as events
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession
from schemas.errors import NotFound
from schemas.timeline import RANK, SQL_KINDS, Cursor, Kind, Order, Position
from schemas.times import SQL_FIRST, SQL_LAST, from_sql, to_sql

KIND_OF_RANK = {rank: kind for kind, rank in RANK.items()}
SUMMARY_CHARS = 120


async def session_timeline(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    schema: SchemaInfo,
    secret: str,
    session_id: int,
    *,
    kinds: set[Kind],
    order: Order,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the timeline of a session the caller sees (404 otherwise), from ``cursor`` (a previous page's
    ``next``), of ``kinds`` only."""
    window = await events.session_window(db, identity.scope, session_id)
    if window is None:
        raise NotFound(f"Session {session_id} not found")
    at = Cursor.decode(cursor, secret, session_id, order).at if cursor else None
    descending = order == "desc"
    start, end = (None if t is None else from_sql(t) for t in (window.startDate, window.endDate))
    edge = stored.first_edge(descending, start, end)
    # the window query found the session within the caller's scope: its proposal and itself are the documents' reach
    scopes = {field: one_session(None, (), window.proposalId, session_id, field) for field in SESSION_FIELDS}
    documents = asyncio.ensure_future(_documents(store, scopes, kinds, at, descending, limit + 1, edge))
    try:
        sql_at = None if at is None else Position(_sql_time(at.time), at.rank, at.id)
        ranks = {kind: RANK[kind] for kind in kinds & SQL_KINDS}
        rows = await events.page(db, session_id, ranks, sql_at, descending, limit + 1)
    except BaseException:
        documents.cancel()
        raise
    for row in rows:
        row["time"] = from_sql(row["time"])
    found = await documents
    merged = sorted(rows + (found or []), key=lambda e: (e["time"], e["rank"], e["id"]), reverse=descending)
    page = merged[:limit]
    await _attach_sql_items(db, schema, page)
    last = page[-1] if len(merged) > limit else None
    next_ = None if last is None else Cursor(session_id, order, Position(last["time"], last["rank"], last["id"]))
    return {
        "sessionId": session_id,
        "order": order,
        "results": [_event(e) for e in page],
        "next": None if next_ is None else next_.encode(secret),
        "documents": {"available": found is not None},
    }


async def _documents(
    store: DocumentStore,
    scopes: dict[str, dict[str, Any]],
    kinds: set[Kind],
    at: Position | None,
    descending: bool,
    n: int,
    edge: datetime | None,
) -> list[dict[str, Any]] | None:
    """The session's documents of ``kinds`` after ``at`` (both collections at once), within ``scopes`` (the
    session's filter per session field, ``documents.scope.one_session``); None when the store does not answer."""
    reads: list[Awaitable[list[dict[str, Any]]]] = []
    if Kind.logbook in kinds:
        reads.append(stored.logbook(store.db, scopes["sessionId"], RANK[Kind.logbook], at, descending, n, edge))
    if Kind.result in kinds:
        reads.append(stored.results(store.db, scopes["sessionIds"], RANK[Kind.result], at, descending, n, edge))
    try:
        pages = await asyncio.gather(*reads)
    except (StoreUnavailable, StoreTimeout):
        return None
    return [event for page in pages for event in page]


def _sql_time(moment: datetime) -> datetime:
    """A UTC moment as SQL holds it; beyond what a datetime holds, the first or last datetime."""
    try:
        return to_sql(moment)
    except OverflowError:
        return SQL_LAST if moment.year > 1 else SQL_FIRST


async def _attach_sql_items(db: ReadSession, schema: SchemaInfo, page: list[dict[str, Any]]) -> None:
    for kind in SQL_KINDS:
        of_kind = [e for e in page if e["rank"] == RANK[kind]]
        found = await events.items(db, schema, kind, [e["id"] for e in of_kind])
        for event in of_kind:
            event["item"] = found.get(event["id"], {})


def _event(e: dict[str, Any]) -> dict[str, Any]:
    kind = KIND_OF_RANK[e["rank"]]
    return {"type": kind, "time": e["time"], "id": e["id"], "summary": summary(kind, e["item"]), "item": e["item"]}


def _cut(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _joined(*parts: object) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def summary(kind: Kind, item: dict[str, Any]) -> str:
    """One short line saying what the event was."""
    if kind == Kind.dataCollection:
        group = item.get("DataCollectionGroup") or {}
        name = _joined(item.get("imagePrefix"), item.get("dataCollectionNumber"))
        images = item.get("numberOfImages")
        said = _joined(group.get("experimentType") or "Data collection", name)
        return _cut(_joined(said + (f": {images} images" if images is not None else ""), item.get("runStatus")))
    if kind == Kind.robotAction:
        return _cut(_joined("Robot", item.get("actionType"), item.get("status"), item.get("sampleBarcode")))
    if kind == Kind.energyScan:
        return _cut(_joined("Energy scan", item.get("element"), item.get("edgeEnergy")))
    if kind == Kind.xrfSpectrum:
        energy = item.get("energy")
        return _cut("XRF spectrum" + (f" at {energy} keV" if energy is not None else ""))
    if kind == Kind.logbook:
        return _cut(f"{item.get('kind')}: {item.get('text') or ''}")
    program = (item.get("program") or {}).get("name")
    return _cut(f"{item.get('kind')} by {program}: {item.get('status')}")
