"""Session statistics: py-ispyb's breakdown (timeline and plottables), time use, hourlies and errors."""

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, column, distinct, extract, func, select, table, true

from relational.best_processing import best_per_collection
from relational.common import proposal_name, session_name
from relational.flavour import SchemaInfo
from relational.models import (
    BLSample,
    BLSession,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Proposal,
    Protein,
    RobotAction,
)
from relational.models.analysis import DataCollectionFileAttachment
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import InvalidInput, NotFound
from schemas.stats import StatsFilter
from schemas.times import to_sql

HC = 12398.4198  # eV·Å: energy (eV) = HC / wavelength (Å)
_PLOTTABLES = ("wavelength", "beamSizeAtSampleX", "beamSizeAtSampleY", "chiStart", "phiStart", "kappaStart")


def _hours(start: Any, end: Any) -> float:
    return max((end - start).total_seconds() / 3600, 0.0) if start and end else 0.0


async def _session(db: ReadSession, scope: Scope, session_id: int) -> dict[str, Any] | None:
    query = (
        select(BLSession.sessionId, BLSession.startDate, BLSession.endDate, BLSession.beamLineName, session_name)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(BLSession.sessionId == session_id, scope.sessions())
    )
    row = (await db.execute(query)).mappings().first()
    return dict(row) if row else None


async def _events(db: ReadSession, session_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dcs = (
        await db.execute(
            select(
                DataCollection.dataCollectionId,
                DataCollection.startTime,
                DataCollection.endTime,
                DataCollection.runStatus.label("status"),
                DataCollectionGroup.experimentType.label("subType"),
                BLSample.name.label("sample"),
                Protein.acronym.label("protein"),
                *[getattr(DataCollection, p) for p in _PLOTTABLES],
            )
            .join(
                DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId
            )
            .outerjoin(BLSample, BLSample.blSampleId == DataCollectionGroup.blSampleId)
            .outerjoin(Crystal, Crystal.crystalId == BLSample.crystalId)
            .outerjoin(Protein, Protein.proteinId == Crystal.proteinId)
            .where(DataCollectionGroup.sessionId == session_id)
            .order_by(DataCollection.startTime)
        )
    ).mappings()
    robots = (
        await db.execute(
            select(
                RobotAction.startTimestamp.label("startTime"),
                RobotAction.endTimestamp.label("endTime"),
                RobotAction.actionType.label("subType"),
                RobotAction.status,
                BLSample.name.label("sample"),
            )
            .outerjoin(BLSample, BLSample.blSampleId == RobotAction.blsampleId)
            .where(RobotAction.blsessionId == session_id)
            .order_by(RobotAction.startTimestamp)
        )
    ).mappings()
    return [dict(r) for r in dcs], [dict(r) for r in robots]


async def get_breakdown(db: ReadSession, scope: Scope, session_id: int) -> dict[str, Any] | None:
    """A visible session's timeline of data collections and robot actions, with beam parameters over time."""
    session = await _session(db, scope, session_id)
    if session is None:
        return None
    dcs, robots = await _events(db, session_id)
    history = [
        {"eventType": kind, **{k: r.get(k) for k in ("startTime", "endTime", "subType", "status", "sample", "protein")}}
        for kind, rows in (("dc", dcs), ("robot", robots))
        for r in rows
        if r["startTime"] and r["endTime"]
    ]
    series = [
        {
            "title": "energy" if p == "wavelength" else p,
            "unit": "eV" if p == "wavelength" else None,
            "data": [(HC / r[p] if r[p] else None) if p == "wavelength" else r[p] for r in dcs],
        }
        for p in _PLOTTABLES
    ]
    failed = sum(1 for r in dcs if r["status"] and "success" not in r["status"].lower())
    return {
        "overview": {
            "startDate": session["startDate"],
            "endDate": session["endDate"],
            "duration": _hours(session["startDate"], session["endDate"]),
            "beamLineName": session["beamLineName"],
            "sessionId": str(session_id),
            "session": session["session"],
            "counts": {
                "datacollections": len(dcs),
                "failed": failed,
                "datacollectionTypes": dict(Counter(r["subType"] or "unknown" for r in dcs)),
                "robot": len(robots),
                "edge": 0,
                "xrf": 0,
            },
        },
        "history": history,
        "plottables": {"time": [r["startTime"] for r in dcs], "series": series},
    }


async def get_times(db: ReadSession, scope: Scope, session_ids: list[int]) -> list[dict[str, Any]]:
    """Hours per visible session spent before the first collection, collecting, on the robot, after the last."""
    entries = []
    for sid in session_ids:
        session = await _session(db, scope, sid)
        if session is None:
            continue
        dcs, robots = await _events(db, sid)
        start, end = session["startDate"], session["endDate"]
        times = [r for r in dcs if r["startTime"] and r["endTime"]]
        entry = {
            "sessionId": sid,
            "duration": _hours(start, end),
            "datacollection": sum(_hours(r["startTime"], r["endTime"]) for r in times),
            "robot": sum(_hours(r["startTime"], r["endTime"]) for r in robots),
            "startup": _hours(start, min(r["startTime"] for r in times)) if times else 0.0,
            "remaining": _hours(max(r["endTime"] for r in times), end) if times else 0.0,
        }
        used = entry["startup"] + entry["datacollection"] + entry["robot"] + entry["remaining"]
        entry["thinking"] = max(entry["duration"] - used, 0.0)
        entries.append(entry)
    return entries


#: experiment types by technique; anything else is MX
EM_TYPES, SAXS_TYPES = ("EM", "Tomo", "Tomography"), ("SAXS", "BioSAXS", "HPLC")


async def techniques(db: ReadSession, scope: Scope, session_id: int) -> dict[str, dict[str, Any]] | None:
    """Per technique of a visible session: data collections, images (movies for EM), auto-processed collections
    and the best overall resolution of SQL auto-processing; None when out of reach."""
    if await _session(db, scope, session_id) is None:
        return None
    processed = best_per_collection()
    query = (
        select(
            DataCollectionGroup.experimentType,
            func.count(DataCollection.dataCollectionId),
            func.coalesce(func.sum(DataCollection.numberOfImages), 0),
            func.count(processed.c.dc),
            func.min(processed.c.resolution),
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .outerjoin(processed, processed.c.dc == DataCollection.dataCollectionId)
        .where(DataCollectionGroup.sessionId == session_id)
        .group_by(DataCollectionGroup.experimentType)
    )
    out: dict[str, dict[str, Any]] = {}
    for kind, dcs, images, auto, best in await db.execute(query):
        technique = "em" if kind in EM_TYPES else "saxs" if kind in SAXS_TYPES else "mx"
        entry = out.setdefault(
            technique, {"datacollections": 0, "images": 0, "autoProcessed": 0, "bestResolution": None}
        )
        entry["datacollections"] += dcs
        entry["images"] += int(images)
        entry["autoProcessed"] += auto
        if best is not None:
            entry["bestResolution"] = best if entry["bestResolution"] is None else min(entry["bestResolution"], best)
    return out


#: Diamond's runs (a view in production, a table in the dump): a run is a window of dates
_RUNS = table("v_run", column("runId"), column("startDate"), column("endDate"))


def _sql_time(moment: datetime) -> datetime:
    """A client's time as SQL keeps it: an aware one in the facility's wall clock, a naive one as it is."""
    try:
        return to_sql(moment) if moment.tzinfo else moment
    except OverflowError:
        raise InvalidInput(f"{moment.isoformat()} is beyond the times a database keeps") from None


async def _covered(db: ReadSession, scope: Scope, schema: SchemaInfo, given: StatsFilter) -> ColumnElement[bool]:
    """The filter on ``BLSession`` (joined to ``Proposal``) of the sessions a statistic covers: those ``given``
    names that the caller reaches. An unknown run is a 404."""
    where = [scope.sessions()]
    if given.sessionId is not None:
        where.append(BLSession.sessionId == given.sessionId)
    if given.session is not None:
        where.append(session_name == given.session)
    if given.proposal is not None:
        where.append(proposal_name == given.proposal)
    if given.beamLineName is not None:
        where.append(BLSession.beamLineName == given.beamLineName)
    if given.runId is not None:
        query = select(_RUNS.c.startDate, _RUNS.c.endDate).where(_RUNS.c.runId == given.runId)
        run = (await db.execute(query)).first() if schema.has_table("v_run") else None
        if run is None:
            raise NotFound(f"Run {given.runId} not found")
        where.append(BLSession.startDate.between(run.startDate, run.endDate))
    if given.startDate is not None:
        where.append(BLSession.startDate >= _sql_time(given.startDate))
    if given.endDate is not None:
        where.append(BLSession.startDate < _sql_time(given.endDate))
    return and_(true(), *where)


def _hourly(rows: list[tuple[Any, Any, int]]) -> dict[str, list[Any]]:
    """(day, hour, count) rows as py-ispyb's hourly averages: per hour of the day, the mean over the days that
    had any in that hour."""
    per_hour: dict[int, list[int]] = defaultdict(list)
    for _, hour, count in rows:
        per_hour[int(hour)].append(count)
    return {
        "hour": list(range(24)),
        "average": [sum(per_hour[h]) / len(per_hour[h]) if per_hour[h] else 0.0 for h in range(24)],
    }


async def get_hourlies(db: ReadSession, scope: Scope, schema: SchemaInfo, given: StatsFilter) -> dict[str, Any]:
    """Data collections started and samples loaded per hour of the day, averaged over the days, in the sessions
    covered."""
    covered = await _covered(db, scope, schema, given)
    start = DataCollection.startTime
    collections = (
        select(func.date(start), extract("hour", start), func.count(distinct(DataCollection.dataCollectionId)))
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(covered, start.is_not(None))
        .group_by(func.date(start), extract("hour", start))
    )
    loaded = RobotAction.startTimestamp
    loads = (
        select(func.date(loaded), extract("hour", loaded), func.count(distinct(RobotAction.robotActionId)))
        .join(BLSession, BLSession.sessionId == RobotAction.blsessionId)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(covered, loaded.is_not(None), func.lower(RobotAction.actionType) == "load")
        .group_by(func.date(loaded), extract("hour", loaded))
    )
    return {
        "datacollections": _hourly([tuple(r) for r in await db.execute(collections)]),
        "loaded": _hourly([tuple(r) for r in await db.execute(loads)]),
    }


async def get_errors(db: ReadSession, scope: Scope, schema: SchemaInfo, given: StatsFilter) -> dict[str, Any]:
    """Per experiment type of the sessions covered: collections, and those failed or aborted (a run status without
    "success"; "aborted" in it for the aborted), with percentages; ``messages`` empty (``app.services.stats`` reads
    them). Every join is to a parent, so a collection is one row."""
    covered = await _covered(db, scope, schema, given)
    status = func.lower(DataCollection.runStatus)
    unsuccessful = status.not_like("%success%")
    query = (
        select(
            DataCollectionGroup.experimentType,
            func.count(DataCollection.dataCollectionId),
            func.sum(case((and_(unsuccessful, status.like("%aborted%")), 1), else_=0)),
            func.sum(case((and_(unsuccessful, status.not_like("%aborted%")), 1), else_=0)),
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(covered)
        .group_by(DataCollectionGroup.experimentType)
    )
    totals = []
    for kind, total, aborted, failed in await db.execute(query):
        aborted, failed = int(aborted), int(failed)
        totals.append(
            {
                "experimentType": kind or "unknown",
                "total": total,
                "failed": failed,
                "failedPercent": round(failed / total * 100, 1),
                "aborted": aborted,
                "abortedPercent": round(aborted / total * 100, 1),
                "messages": [],
            }
        )
    return {"totals": sorted(totals, key=lambda t: t["experimentType"])}  # by name (an ENUM sorts by its index)


async def failed_logs(
    db: ReadSession, scope: Scope, schema: SchemaInfo, given: StatsFilter, limit: int
) -> list[tuple[str, str]]:
    """(experiment type, stored path) of the error logs (py-ispyb's: a ``log`` attachment with "err" in its path)
    of the failed, not aborted, collections of the sessions covered; the newest ``limit``."""
    covered = await _covered(db, scope, schema, given)
    status = func.lower(DataCollection.runStatus)
    attachment = DataCollectionFileAttachment
    query = (
        select(DataCollectionGroup.experimentType, attachment.fileFullPath)
        .join(DataCollection, DataCollection.dataCollectionId == attachment.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(covered, status.not_like("%success%"), status.not_like("%aborted%"))
        .where(attachment.fileType == "log", attachment.fileFullPath.like("%err%"))
        .order_by(attachment.dataCollectionFileAttachmentId.desc())
        .limit(limit)
    )
    return [(kind or "unknown", path) for kind, path in await db.execute(query)]
