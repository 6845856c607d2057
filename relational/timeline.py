"""A session's SQL events for its timeline: data collections, robot actions, energy scans and XRF spectra, one page
after a keyset position, in one UNION ALL.

Times are the tables' naive facility-local times; the keyset orders by (time, rank, id), the rank telling the
tables apart at one instant. Events without a time have no place on a timeline and are left out.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, select, true, union_all
from sqlalchemy.orm import InstrumentedAttribute

from relational import datacollections
from relational.common import AnySelect
from relational.flavour import SchemaInfo
from relational.models import (
    BLSession,
    DataCollection,
    DataCollectionGroup,
    EnergyScan,
    Proposal,
    RobotAction,
    XFEFluorescenceSpectrum,
)
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas import events
from schemas.common import ApiModel
from schemas.timeline import SQL_KINDS, Kind, Position


@dataclass(frozen=True)
class SessionWindow:
    """A visible session: its proposal and when it runs."""

    sessionId: int
    proposalId: int
    startDate: datetime | None
    endDate: datetime | None


@dataclass(frozen=True)
class _Table:
    """A table of events: its id, time and session columns, and the columns of its item (schemas/events.py)."""

    name: Kind
    id: InstrumentedAttribute[int]
    time: InstrumentedAttribute[Any]
    session: InstrumentedAttribute[Any]
    item: tuple[InstrumentedAttribute[Any], ...]


def _item_columns(model: type, shape: type[ApiModel]) -> tuple[InstrumentedAttribute[Any], ...]:
    return tuple(getattr(model, name) for name in shape.model_fields)


_TABLES = {
    t.name: t
    for t in (
        _Table(
            Kind.robotAction,
            RobotAction.robotActionId,
            RobotAction.startTimestamp,
            RobotAction.blsessionId,
            _item_columns(RobotAction, events.RobotAction),
        ),
        _Table(
            Kind.energyScan,
            EnergyScan.energyScanId,
            EnergyScan.startTime,
            EnergyScan.sessionId,
            _item_columns(EnergyScan, events.EnergyScan),
        ),
        _Table(
            Kind.xrfSpectrum,
            XFEFluorescenceSpectrum.xfeFluorescenceSpectrumId,
            XFEFluorescenceSpectrum.startTime,
            XFEFluorescenceSpectrum.sessionId,
            _item_columns(XFEFluorescenceSpectrum, events.XFEFluorescenceSpectrum),
        ),
    )
}
_GROUP = DataCollectionGroup.dataCollectionGroupId


async def session_window(db: ReadSession, scope: Scope, session_id: int) -> SessionWindow | None:
    """The session if the caller sees it (relational/scope.py), else None."""
    query = (
        select(BLSession.sessionId, BLSession.proposalId, BLSession.startDate, BLSession.endDate)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(BLSession.sessionId == session_id, scope.sessions())
    )
    row = (await db.execute(query)).first()
    return None if row is None else SessionWindow(row[0], row[1], row[2], row[3])


def _after(time: Any, id_: Any, rank: int, at: Position | None, descending: bool) -> ColumnElement[bool]:
    """The keyset condition of one table (of ``rank``): its rows strictly after ``at`` in the page's order."""
    if at is None:
        return true()
    later: ColumnElement[bool] = time < at.time if descending else time > at.time
    if rank == at.rank:
        return or_(later, and_(time == at.time, id_ < at.id if descending else id_ > at.id))
    if (rank < at.rank) == descending:
        return or_(later, time == at.time)
    return later


def _branch(kind: Kind, rank: int, session_id: int, at: Position | None, descending: bool, n: int) -> AnySelect:
    """One table's first ``n`` events of the session after the position, newest (or oldest) first."""
    query: AnySelect
    if kind == Kind.dataCollection:
        time, id_ = DataCollection.startTime, DataCollection.dataCollectionId
        query = (
            select(time.label("time"), literal(rank).label("rank"), id_.label("id"))
            .join(
                DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId
            )
            .where(DataCollectionGroup.sessionId == session_id)
        )
    else:
        table = _TABLES[kind]
        time, id_ = table.time, table.id
        query = select(time.label("time"), literal(rank).label("rank"), id_.label("id")).where(
            table.session == session_id
        )
    ordered = (time.desc(), id_.desc()) if descending else (time.asc(), id_.asc())
    query = query.where(time.is_not(None), _after(time, id_, rank, at, descending)).order_by(*ordered).limit(n)
    return select(query.subquery())


async def page(
    db: ReadSession,
    session_id: int,
    kinds: dict[Kind, int],
    at: Position | None,
    descending: bool,
    n: int,
) -> list[dict[str, Any]]:
    """The session's first ``n`` events of ``kinds`` (name → rank) after ``at``, each ``{"time", "rank", "id"}``,
    in the page's order. The caller has checked that they see the session (``session_window``)."""
    branches = [_branch(kind, rank, session_id, at, descending, n) for kind, rank in kinds.items() if kind in SQL_KINDS]
    if not branches:
        return []
    merged = union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    keys = (merged.c.time, merged.c.rank, merged.c.id)
    query = select(merged).order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(n)
    return [dict(r) for r in (await db.execute(query)).mappings()]


async def items(db: ReadSession, schema: SchemaInfo, kind: Kind, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The events' items as ``GET /events`` shows them, by id (callers have scoped ``ids``)."""
    if not ids:
        return {}
    if kind == Kind.dataCollection:
        return await datacollections.get_items(db, schema, ids)
    table = _TABLES[kind]
    query = select(*table.item).where(table.id.in_(ids))
    return {r[table.id.key]: dict(r) for r in (await db.execute(query)).mappings()}
