"""py-ispyb's timeline: data collection groups (or the collections of one group), robot actions, energy scans, XRF
spectra and faults."""

from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Subquery, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import InstrumentedAttribute

from relational import datacollections
from relational.common import AnySelect, Columns, Page, count, page_of, paged_with, proposal_name, session_name
from relational.flavour import SchemaInfo
from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramMessage,
    BFFault,
    BLSample,
    BLSession,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    EnergyScan,
    Proposal,
    RobotAction,
    XFEFluorescenceSpectrum,
)
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.statements import built_once

DC, ROBOT, ENERGY_SCAN, XRF, FAULT = "dc", "robot", "es", "xrf", "fault"


@dataclass(frozen=True)
class _Kind:
    """A table whose rows are events one by one: its id, times, session and sample (None: it has none)."""

    name: str
    id: InstrumentedAttribute[int]
    start: InstrumentedAttribute[Any]
    end: InstrumentedAttribute[Any]
    session: InstrumentedAttribute[int]
    sample: InstrumentedAttribute[int | None] | None
    #: the columns of its ``Item``
    item: tuple[InstrumentedAttribute[Any], ...]


_KINDS = {
    kind.name: kind
    for kind in (
        _Kind(
            ROBOT,
            RobotAction.robotActionId,
            RobotAction.startTimestamp,
            RobotAction.endTimestamp,
            RobotAction.blsessionId,
            RobotAction.blsampleId,
            (
                RobotAction.actionType,
                RobotAction.status,
                RobotAction.message,
                RobotAction.containerLocation,
                RobotAction.dewarLocation,
                RobotAction.sampleBarcode,
            ),
        ),
        _Kind(
            XRF,
            XFEFluorescenceSpectrum.xfeFluorescenceSpectrumId,
            XFEFluorescenceSpectrum.startTime,
            XFEFluorescenceSpectrum.endTime,
            XFEFluorescenceSpectrum.sessionId,
            XFEFluorescenceSpectrum.blSampleId,
            (
                XFEFluorescenceSpectrum.energy,
                XFEFluorescenceSpectrum.exposureTime,
                XFEFluorescenceSpectrum.beamTransmission,
                XFEFluorescenceSpectrum.filename,
                XFEFluorescenceSpectrum.scanFileFullPath,
                XFEFluorescenceSpectrum.jpegScanFileFullPath,
                XFEFluorescenceSpectrum.annotatedPymcaXfeSpectrum,
                XFEFluorescenceSpectrum.fittedDataFileFullPath,
                XFEFluorescenceSpectrum.comments,
            ),
        ),
        _Kind(
            ENERGY_SCAN,
            EnergyScan.energyScanId,
            EnergyScan.startTime,
            EnergyScan.endTime,
            EnergyScan.sessionId,
            EnergyScan.blSampleId,
            (
                EnergyScan.element,
                EnergyScan.edgeEnergy,
                EnergyScan.startEnergy,
                EnergyScan.endEnergy,
                EnergyScan.peakEnergy,
                EnergyScan.peakFPrime,
                EnergyScan.peakFDoublePrime,
                EnergyScan.inflectionEnergy,
                EnergyScan.inflectionFPrime,
                EnergyScan.inflectionFDoublePrime,
                EnergyScan.exposureTime,
                EnergyScan.transmissionFactor,
                EnergyScan.fluorescenceDetector,
                EnergyScan.filename,
                EnergyScan.scanFileFullPath,
                EnergyScan.choochFileFullPath,
                EnergyScan.jpegChoochFileFullPath,
                EnergyScan.comments,
            ),
        ),
        _Kind(
            FAULT,
            BFFault.faultId,
            BFFault.starttime,
            BFFault.endtime,
            BFFault.sessionId,
            None,
            (
                BFFault.title,
                BFFault.description,
                BFFault.owner,
                BFFault.assignee,
                BFFault.resolved,
                BFFault.resolution,
                BFFault.beamtimelost,
                BFFault.beamtimelost_starttime,
                BFFault.beamtimelost_endtime,
            ),
        ),
    )
}
#: ``GET /events/types`` names of the kinds that are tables (py-ispyb's names for robot, xrf and es)
KIND_NAMES = {ROBOT: "Sample Actions", XRF: "XRF Spectrum", ENERGY_SCAN: "Energy Scan", FAULT: "Faults"}


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
    def kinds(self) -> list[str]:
        """The kinds of event these filters can match: only collections match a collection, a group or a
        processing status; success/failed match collections and robot actions; faults have no sample;
        ``eventType`` is a table kind or else a collection group's experiment type."""
        if self.dataCollectionId or self.dataCollectionGroupId or self.status in ("processed", "processerror"):
            kinds = [DC]
        elif self.status:
            kinds = [DC, ROBOT]
        elif self.blSampleId is not None or self.proteinId is not None:
            kinds = [DC, ROBOT, XRF, ENERGY_SCAN]
        else:
            kinds = [DC, ROBOT, XRF, ENERGY_SCAN, FAULT]
        if self.eventType:
            wanted = self.eventType if self.eventType in _KINDS else DC
            kinds = [k for k in kinds if k == wanted]
        return kinds

    @property
    def shape(self) -> "EventFilters":
        """What shapes the query: which filters are given, the status, a table kind as ``eventType``; each given
        value is a bind parameter named after its filter (``values``)."""
        given: dict[str, Any] = {k: (1 if isinstance(v, int) else "?") for k, v in self.values.items()}
        return replace(self, **given)

    @property
    def values(self) -> dict[str, int | str]:
        """The bind parameters' values: each given filter's (an id given, a text not empty, as the queries test
        them) but the status and a table kind."""
        found = {
            k: v for k, v in asdict(self).items() if k != "status" and (v if isinstance(v, str) else v is not None)
        }
        if self.eventType in _KINDS:
            del found["eventType"]
        return found


def _session_filters(query: Select[*Columns], f: EventFilters, scope: Scope) -> Select[*Columns]:
    query = query.join(Proposal, Proposal.proposalId == BLSession.proposalId).where(scope.sessions())
    if f.session:
        query = query.where(session_name == bindparam("session"))
    if f.sessionId is not None:
        query = query.where(BLSession.sessionId == bindparam("sessionId"))
    if f.proposal:
        query = query.where(proposal_name == bindparam("proposal"))
    if f.proposalId is not None:
        query = query.where(BLSession.proposalId == bindparam("proposalId"))
    if f.beamLineName:
        query = query.where(BLSession.beamLineName == bindparam("beamLineName"))
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
        query = query.where(DataCollection.dataCollectionId == bindparam("dataCollectionId"))
    if per_dc:
        query = query.where(DataCollectionGroup.dataCollectionGroupId == bindparam("dataCollectionGroupId"))
    if f.blSampleId is not None:
        query = query.where(DataCollectionGroup.blSampleId == bindparam("blSampleId"))
    if f.proteinId is not None:
        query = query.where(DataCollectionGroup.blSampleId.in_(_samples_of_protein()))
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
    if f.eventType and f.eventType not in _KINDS:
        query = query.where(DataCollectionGroup.experimentType == bindparam("eventType"))
    if per_dc:
        return query
    return query.group_by(
        DataCollectionGroup.dataCollectionGroupId, DataCollectionGroup.sessionId, DataCollectionGroup.blSampleId
    )


def _kind_query(kind: _Kind, f: EventFilters, scope: Scope) -> AnySelect:
    query = select(
        kind.id.label("id"),
        kind.start.label("startTime"),
        kind.end.label("endTime"),
        literal(kind.name).label("type"),
        literal(1).label("count"),
        kind.session.label("sessionId"),
        (kind.sample if kind.sample is not None else null()).label("blSampleId"),
    ).join(BLSession, BLSession.sessionId == kind.session)
    query = _session_filters(query, f, scope)
    if kind.sample is not None and f.blSampleId is not None:
        query = query.where(kind.sample == bindparam("blSampleId"))
    if kind.sample is not None and f.proteinId is not None:
        query = query.where(kind.sample.in_(_samples_of_protein()))
    if kind.name == ROBOT and f.status == "success":
        query = query.where(RobotAction.status.like("%success%"))
    elif kind.name == ROBOT and f.status == "failed":
        query = query.where(RobotAction.status.not_like("%success%"))
    return query


def _samples_of_protein() -> Select[Any]:
    return (
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .where(Crystal.proteinId == bindparam("proteinId"))
    )


def _query(kind: str, f: EventFilters, scope: Scope) -> AnySelect:
    return _dc_query(f, scope) if kind == DC else _kind_query(_KINDS[kind], f, scope)


async def get_events(
    db: ReadSession, scope: Scope, schema: SchemaInfo, page: Page, f: EventFilters
) -> tuple[int, list[dict[str, Any]]]:
    """Visible events, newest first, each with its ``Item`` (a data collection, robot action, energy scan, XRF
    spectrum or fault)."""
    if f.status == "processerror" and not schema.has_table("AutoProcProgramMessage"):
        return 0, []
    if not f.kinds:
        return 0, []
    query = _events(scope, f.shape)
    total, rows = await paged_with(db, query, _named(query), page, f.values)
    await _attach(db, schema, rows, per_group=f.dataCollectionGroupId is None)
    return total, rows


@built_once
def _events(scope: Scope, shape: EventFilters) -> AnySelect:
    """Every kind's events these filters can match, newest first."""
    parts = [_query(kind, shape, scope) for kind in shape.kinds]
    index = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(index).order_by(*_newest_first(index))


def _newest_first(events: Subquery) -> list[ColumnElement[Any]]:
    return [events.c.startTime.desc(), events.c.type, events.c.id.desc()]


@built_once
def _named(query: AnySelect) -> AnySelect:
    """A page of ``query`` (``page_of``) with the names of each event's session and proposal and of its sample
    (``session``, ``proposal``, ``blSample``), joined in the same query."""
    page = page_of(query)
    named = (
        page.outerjoin(BLSession, BLSession.sessionId == page.c.sessionId)
        .outerjoin(Proposal, Proposal.proposalId == BLSession.proposalId)
        .outerjoin(BLSample, BLSample.blSampleId == page.c.blSampleId)
    )
    return (
        select(page, session_name, proposal_name, BLSample.name.label("blSample"))
        .select_from(named)
        .order_by(*_newest_first(page))
    )


@built_once
def _items_of(kind: str) -> AnySelect:
    table = _KINDS[kind]
    return select(table.id, *table.item).where(table.id.in_(bindparam("ids", expanding=True)))


async def _items(db: ReadSession, kind: _Kind, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = (await db.execute(_items_of(kind.name), {"ids": ids})).mappings()
    return {r[kind.id.key]: dict(r) for r in rows}


async def _attach(db: ReadSession, schema: SchemaInfo, rows: list[dict[str, Any]], per_group: bool) -> None:
    """Each row's ``Item``, duration and attachment count (a group's: every file of its collections)."""
    dc_ids = [r["id"] for r in rows if r["type"] == DC]
    items = {DC: await datacollections.get_items(db, schema, dc_ids, "group" if per_group else "collection")}
    attachments = {dc: item.pop(datacollections.FILES) for dc, item in items[DC].items()}
    for name, kind in _KINDS.items():
        items[name] = await _items(db, kind, [r["id"] for r in rows if r["type"] == name])
    for row in rows:
        start, end = row["startTime"], row["endTime"]
        row["duration"] = (end - start).total_seconds() / 60 if start and end else None
        row["attachments"] = attachments.get(row["id"], 0) if row["type"] == DC else 0
        row["Item"] = items[row["type"]].get(row["id"])


async def get_event_types(db: ReadSession, scope: Scope, f: EventFilters) -> list[dict[str, str]]:
    """The experiment types present, then each kind of table event present (robot, xrf, es, fault)."""
    narrowed = EventFilters(session=f.session, sessionId=f.sessionId, blSampleId=f.blSampleId)
    kinds = _dc_query(narrowed, scope)
    types_query = select(DataCollectionGroup.experimentType).where(
        DataCollectionGroup.dataCollectionGroupId.in_(
            kinds.with_only_columns(DataCollectionGroup.dataCollectionGroupId).group_by(None)
        ),
        DataCollectionGroup.experimentType.is_not(None),
    )
    names = sorted({t for t in (await db.execute(types_query.distinct(), narrowed.values)).scalars() if t})
    types = [{"eventType": t, "eventTypeName": t} for t in names]
    for name in (k for k in narrowed.kinds if k != DC):
        if await count(db, _kind_query(_KINDS[name], narrowed, scope).limit(1), narrowed.values):
            types.append({"eventType": name, "eventTypeName": KIND_NAMES[name]})
    return types
