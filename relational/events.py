"""py-ispyb's timeline: data collection groups (or the collections of one group) and robot actions."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, false, func, literal, select, union_all

from relational import datacollections
from relational.common import AnySelect, Columns, Page, count, paged, proposal_name, session_name
from relational.db import ReadSession
from relational.flavour import SchemaInfo
from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramMessage,
    BLSample,
    BLSession,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Proposal,
    RobotAction,
)
from relational.scope import Scope

ROBOT = "robot"


@dataclass(frozen=True)
class EventFilters:
    session: str | None = None
    sessionId: int | None = None
    proposal: str | None = None
    proposalId: int | None = None
    beamLineName: str | None = None
    dataCollectionId: int | None = None
    dataCollectionGroupId: int | None = None
    blSampleId: int | None = None
    proteinId: int | None = None
    status: str | None = None
    eventType: str | None = None

    @property
    def dc_only(self) -> bool:
        """Filters that only data collections can match."""
        return bool(self.dataCollectionId or self.dataCollectionGroupId or self.status in ("processed", "processerror"))


def _session_filters(query: Select[*Columns], f: EventFilters, scope: Scope) -> Select[*Columns]:
    query = query.join(Proposal, Proposal.proposalId == BLSession.proposalId).where(scope.sessions())
    if f.session:
        query = query.where(session_name == f.session)
    if f.sessionId is not None:
        query = query.where(BLSession.sessionId == f.sessionId)
    if f.proposal:
        query = query.where(proposal_name == f.proposal)
    if f.proposalId is not None:
        query = query.where(BLSession.proposalId == f.proposalId)
    if f.beamLineName:
        query = query.where(BLSession.beamLineName == f.beamLineName)
    return query


def _dc_query(f: EventFilters, scope: Scope) -> AnySelect:
    per_dc = f.dataCollectionGroupId is not None
    id_col = DataCollection.dataCollectionId if per_dc else func.max(DataCollection.dataCollectionId)
    query = (
        select(
            id_col.label("id"),
            (DataCollection.startTime if per_dc else func.min(DataCollection.startTime)).label("startTime"),
            (DataCollection.endTime if per_dc else func.max(DataCollection.endTime)).label("endTime"),
            literal("dc").label("type"),
            (literal(1) if per_dc else func.count(DataCollection.dataCollectionId)).label("count"),
            DataCollectionGroup.sessionId.label("sessionId"),
            DataCollectionGroup.blSampleId.label("blSampleId"),
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
    )
    query = _session_filters(query, f, scope)
    if f.dataCollectionId is not None:
        query = query.where(DataCollection.dataCollectionId == f.dataCollectionId)
    if per_dc:
        query = query.where(DataCollectionGroup.dataCollectionGroupId == f.dataCollectionGroupId)
    if f.blSampleId is not None:
        query = query.where(DataCollectionGroup.blSampleId == f.blSampleId)
    if f.proteinId is not None:
        query = query.where(DataCollectionGroup.blSampleId.in_(_samples_of_protein(f.proteinId)))
    if f.status == "success":
        query = query.where(DataCollection.runStatus.like("%success%"))
    elif f.status == "failed":
        query = query.where(DataCollection.runStatus.not_like("%success%"))
    elif f.status == "processed":
        succeeded = (
            select(AutoProcIntegration.dataCollectionId)
            .join(AutoProcProgram, AutoProcProgram.autoProcProgramId == AutoProcIntegration.autoProcProgramId)
            .where(cast(AutoProcProgram.processingStatus, String).in_(("1", "SUCCESS")))
        )
        query = query.where(DataCollection.dataCollectionId.in_(succeeded))
    elif f.status == "processerror":
        with_problems = (
            select(AutoProcIntegration.dataCollectionId)
            .join(
                AutoProcProgramMessage,
                AutoProcProgramMessage.autoProcProgramId == AutoProcIntegration.autoProcProgramId,
            )
            .where(AutoProcProgramMessage.severity.in_(("WARNING", "ERROR")))
        )
        query = query.where(DataCollection.dataCollectionId.in_(with_problems))
    if f.eventType and f.eventType != ROBOT:
        query = query.where(DataCollectionGroup.experimentType == f.eventType)
    elif f.eventType == ROBOT:
        query = query.where(false())
    if per_dc:
        return query
    return query.group_by(
        DataCollectionGroup.dataCollectionGroupId, DataCollectionGroup.sessionId, DataCollectionGroup.blSampleId
    )


def _robot_query(f: EventFilters, scope: Scope) -> AnySelect:
    query = select(
        RobotAction.robotActionId.label("id"),
        RobotAction.startTimestamp.label("startTime"),
        RobotAction.endTimestamp.label("endTime"),
        literal(ROBOT).label("type"),
        literal(1).label("count"),
        RobotAction.blsessionId.label("sessionId"),
        RobotAction.blsampleId.label("blSampleId"),
    ).join(BLSession, BLSession.sessionId == RobotAction.blsessionId)
    query = _session_filters(query, f, scope)
    if f.blSampleId is not None:
        query = query.where(RobotAction.blsampleId == f.blSampleId)
    if f.proteinId is not None:
        query = query.where(RobotAction.blsampleId.in_(_samples_of_protein(f.proteinId)))
    if f.status == "success":
        query = query.where(RobotAction.status.like("%success%"))
    elif f.status == "failed":
        query = query.where(RobotAction.status.not_like("%success%"))
    if f.eventType and f.eventType != ROBOT:
        query = query.where(false())
    return query


def _samples_of_protein(protein_id: int) -> Select[Any]:
    return (
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .where(Crystal.proteinId == protein_id)
    )


async def get_events(
    db: ReadSession, scope: Scope, schema: SchemaInfo, page: Page, f: EventFilters
) -> tuple[int, list[dict[str, Any]]]:
    """Visible events, newest first, each with its ``Item`` (a data collection or a robot action)."""
    if f.status == "processerror" and not schema.has_table("AutoProcProgramMessage"):
        return 0, []
    parts = [_dc_query(f, scope)]
    if not f.dc_only:
        parts.append(_robot_query(f, scope))
    index = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    ordered = select(index).order_by(index.c.startTime.desc(), index.c.id.desc())
    total, rows = await paged(db, ordered, page)
    await _attach(db, schema, rows)
    return total, rows


async def _attach(db: ReadSession, schema: SchemaInfo, rows: list[dict[str, Any]]) -> None:
    dc_items = await datacollections.get_items(db, schema, [r["id"] for r in rows if r["type"] == "dc"])
    robot_ids = [r["id"] for r in rows if r["type"] == ROBOT]
    robots: dict[int, dict[str, Any]] = {}
    if robot_ids:
        query = select(
            RobotAction.robotActionId,
            RobotAction.actionType,
            RobotAction.status,
            RobotAction.message,
            RobotAction.containerLocation,
            RobotAction.dewarLocation,
            RobotAction.sampleBarcode,
        ).where(RobotAction.robotActionId.in_(robot_ids))
        robots = {r["robotActionId"]: dict(r) for r in (await db.execute(query)).mappings()}
    names = await _names(db, {r["sessionId"] for r in rows}, {r["blSampleId"] for r in rows} - {None})
    for row in rows:
        start, end = row["startTime"], row["endTime"]
        row["duration"] = (end - start).total_seconds() / 60 if start and end else None
        row["session"], row["proposal"] = names["sessions"].get(row["sessionId"], (None, ""))
        row["blSample"] = names["samples"].get(row["blSampleId"])
        row["attachments"] = None
        row["Item"] = dc_items.get(row["id"]) if row["type"] == "dc" else robots.get(row["id"])


async def _names(db: ReadSession, session_ids: set[int], sample_ids: set[int]) -> dict[str, dict[int, Any]]:
    sessions = {
        r.sessionId: (r.session, r.proposal)
        for r in await db.execute(
            select(BLSession.sessionId, session_name, proposal_name)
            .join(Proposal, Proposal.proposalId == BLSession.proposalId)
            .where(BLSession.sessionId.in_(session_ids))
        )
    }
    samples: dict[int, Any] = {}
    if sample_ids:
        result = await db.execute(select(BLSample.blSampleId, BLSample.name).where(BLSample.blSampleId.in_(sample_ids)))
        samples = dict(result.all())
    return {"sessions": sessions, "samples": samples}


async def get_event_types(db: ReadSession, scope: Scope, f: EventFilters) -> list[dict[str, str]]:
    """The experiment types present, plus ``robot`` where there are robot actions."""
    kinds = _dc_query(EventFilters(session=f.session, sessionId=f.sessionId, blSampleId=f.blSampleId), scope)
    types_query = select(DataCollectionGroup.experimentType).where(
        DataCollectionGroup.dataCollectionGroupId.in_(
            kinds.with_only_columns(DataCollectionGroup.dataCollectionGroupId).group_by(None)
        ),
        DataCollectionGroup.experimentType.is_not(None),
    )
    names = sorted({t for t in (await db.execute(types_query.distinct())).scalars() if t})
    types = [{"eventType": t, "eventTypeName": t} for t in names]
    robots = _robot_query(EventFilters(session=f.session, sessionId=f.sessionId, blSampleId=f.blSampleId), scope)
    if await count(db, robots.limit(1)):
        types.append({"eventType": ROBOT, "eventTypeName": "Sample Actions"})
    return types
