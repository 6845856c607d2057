"""Beamtime sessions, scoped to the caller."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.common import Page, paged, proposal_name, session_name
from relational.flavour import SchemaInfo
from relational.models import BLSession, DataCollection, DataCollectionGroup, Proposal, SessionHasPerson, SessionType
from relational.scope import Scope
from schemas.options import BeamLineGroup, ui_groups

SOON = timedelta(minutes=20)


async def get_sessions(
    db: AsyncSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    *,
    sessionId: int | None = None,
    proposal: str | None = None,
    beamLineNames: Sequence[str] | None = None,
    upcoming: bool = False,
    previous: bool = False,
    sessionType: str | None = None,
    scheduled: bool | None = None,
    year: int | None = None,
    month: int | None = None,
    groups: Sequence[BeamLineGroup] = (),
) -> tuple[int, list[dict[str, Any]]]:
    """Visible sessions, latest first (soonest first with ``upcoming``), with py-ispyb's ``_metadata``."""
    now = datetime.now()
    query = (
        select(
            BLSession.sessionId,
            BLSession.proposalId,
            session_name,
            proposal_name,
            BLSession.visit_number,
            BLSession.startDate,
            BLSession.endDate,
            BLSession.beamLineName,
            BLSession.beamLineOperator,
            BLSession.scheduled,
            BLSession.comments,
            schema.optional("BLSession", "nbReimbDewars"),
        )
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(scope.sessions())
    )
    if sessionId is not None:
        query = query.where(BLSession.sessionId == sessionId)
    if proposal:
        query = query.where(proposal_name == proposal)
    if beamLineNames is not None:
        query = query.where(BLSession.beamLineName.in_(beamLineNames))
    if scheduled:
        query = query.where(BLSession.scheduled.is_(True))
    if sessionType:
        query = query.where(
            BLSession.sessionId.in_(select(SessionType.sessionId).where(SessionType.typeName == sessionType))
        )
    if year:
        query = query.where(
            or_(extract("year", BLSession.startDate) == year, extract("year", BLSession.endDate) == year)
        )
    if month:
        query = query.where(
            or_(extract("month", BLSession.startDate) == month, extract("month", BLSession.endDate) == month)
        )
    if upcoming:
        query = query.where(BLSession.endDate >= now).order_by(BLSession.startDate, BLSession.sessionId)
    else:
        if previous:
            query = query.where(BLSession.endDate < now)
        query = query.order_by(BLSession.startDate.desc(), BLSession.sessionId.desc())
    total, rows = await paged(db, query, page)
    await _add_metadata(db, rows, now, groups)
    return total, rows


async def _add_metadata(
    db: AsyncSession, rows: list[dict[str, Any]], now: datetime, groups: Sequence[BeamLineGroup]
) -> None:
    ids = [r["sessionId"] for r in rows]
    if not ids:
        return
    dcs = dict(
        (
            await db.execute(
                select(DataCollectionGroup.sessionId, func.count(DataCollection.dataCollectionId))
                .join(DataCollection, DataCollection.dataCollectionGroupId == DataCollectionGroup.dataCollectionGroupId)
                .where(DataCollectionGroup.sessionId.in_(ids))
                .group_by(DataCollectionGroup.sessionId)
            )
        ).all()
    )
    persons = dict(
        (
            await db.execute(
                select(SessionHasPerson.sessionId, func.count(SessionHasPerson.personId))
                .where(SessionHasPerson.sessionId.in_(ids))
                .group_by(SessionHasPerson.sessionId)
            )
        ).all()
    )
    types: dict[int, list[str]] = {}
    for sid, name in await db.execute(
        select(SessionType.sessionId, SessionType.typeName)
        .where(SessionType.sessionId.in_(ids))
        .distinct()
        .order_by(SessionType.typeName)
    ):
        types.setdefault(sid, []).append(name)
    for row in rows:
        start, end, sid = row["startDate"], row["endDate"], row["sessionId"]
        row["_metadata"] = {
            "datacollections": dcs.get(sid, 0),
            "uiGroups": ui_groups(groups, [row["beamLineName"]]),
            "persons": persons.get(sid, 0),
            "active": bool(start and end and start <= now <= end),
            "active_soon": bool(start and end and start - SOON <= now <= end + SOON),
            "sessionTypes": types.get(sid, []),
        }
