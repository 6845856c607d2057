"""What beamline software writes while it collects: sessions it opens, collection groups, collections and image
rows (MXCuBE's PyISPyB adapter, docs/design/mxcube-calls.md §3-4), each into a session the caller may write into
(``relational.reach.session_for_acquisition``); its setup and detectors are in ``relational.beamline_setups``."""

import math
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relational.flavour import SchemaInfo
from relational.models import (
    BLSample,
    BLSession,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Image,
    Proposal,
    Protein,
)
from relational.reach import AcquisitionRule, AcquisitionTarget, flush_or_conflict, lock, session_for_acquisition
from relational.scope import Scope
from schemas.acquisition import Collection, ImageIn, SessionCreate
from schemas.errors import InvalidInput, NotFound
from schemas.times import local_now

#: ``DataCollectionGroup.experimentType`` values both flavours' ENUMs accept (Diamond's adds more); another type
#: leaves the group's NULL and is kept in ``DataCollection.experimentType`` (a plain string)
GROUP_TYPES = (
    "EM",
    "SAD",
    "SAD - Inverse Beam",
    "OSC",
    "Collect - Multiwedge",
    "MAD",
    "Helical",
    "Multi-positional",
    "Mesh",
    "Burn",
    "MAD - Inverse Beam",
    "Characterization",
    "Dehydration",
    "Still",
    "SSX-Chip",
    "SSX-Jet",
)
_BY_FOLDED = {t.casefold(): t for t in GROUP_TYPES}


async def _flush_or_invalid(db: AsyncSession, what: str) -> None:
    """Flush; an id the database refuses (a foreign key to nothing) is the client's mistake: 422."""
    try:
        await db.flush()
    except IntegrityError as exc:
        raise InvalidInput(f"{what}: refused by the database ({exc.orig.args[-1] if exc.orig else exc})") from None


# sessions and beamline setups


async def create_session(db: AsyncSession, data: SessionCreate) -> int:
    """A new session of the proposal with the next visit number (so its name ``CODE NUMBER-visit`` exists)."""
    await lock(db, Proposal.proposalId, data.proposalId)
    last = select(func.max(BLSession.visit_number)).where(BLSession.proposalId == data.proposalId).with_for_update()
    visit = int((await db.execute(last)).scalar_one() or 0) + 1
    session = BLSession(
        proposalId=data.proposalId,
        startDate=data.startDate,
        endDate=data.endDate,
        beamLineName=data.beamLineName,
        comments=data.comments,
        scheduled=data.scheduled,
        nbShifts=data.nbShifts,
        visit_number=visit,
    )
    db.add(session)
    await flush_or_conflict(db, f"Session {visit} of proposal {data.proposalId}")
    return session.sessionId


# groups and collections


async def _group(db: AsyncSession, group_id: int) -> tuple[int, int]:
    query = select(DataCollectionGroup.dataCollectionGroupId, DataCollectionGroup.sessionId).where(
        DataCollectionGroup.dataCollectionGroupId == group_id
    )
    row = (await db.execute(query)).first()
    if row is None:
        raise NotFound(f"Data collection group {group_id} not found")
    return int(row[0]), int(row[1])


async def _collection(db: AsyncSession, dc_id: int) -> tuple[int, int, int]:
    """(collection, group, session) of a collection; NotFound when there is none."""
    query = (
        select(
            DataCollection.dataCollectionId, DataCollectionGroup.dataCollectionGroupId, DataCollectionGroup.sessionId
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .where(DataCollection.dataCollectionId == dc_id)
    )
    row = (await db.execute(query)).first()
    if row is None:
        raise NotFound(f"Data collection {dc_id} not found")
    return int(row[0]), int(row[1]), int(row[2])


async def _check_sample(db: AsyncSession, sample_id: int | None, target: AcquisitionTarget) -> None:
    if sample_id is None:
        return
    query = (
        select(Protein.proposalId)
        .select_from(BLSample)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .where(BLSample.blSampleId == sample_id)
    )
    if (await db.execute(query)).scalar_one_or_none() != target.proposalId:
        raise InvalidInput(f"`blSampleId`: sample {sample_id} is not a sample of the session's proposal")


_screening = MetaData()
#: the chain from a strategy's sub-wedge up to its screening's collection group (unmapped tables, both flavours)
_SCREENING_CHAIN = {
    "ScreeningStrategySubWedge": ("screeningStrategySubWedgeId", "screeningStrategyWedgeId"),
    "ScreeningStrategyWedge": ("screeningStrategyWedgeId", "screeningStrategyId"),
    "ScreeningStrategy": ("screeningStrategyId", "screeningOutputId"),
    "ScreeningOutput": ("screeningOutputId", "screeningId"),
}
_chain = {
    name: Table(name, _screening, Column(key, Integer, primary_key=True), Column(parent, Integer))
    for name, (key, parent) in _SCREENING_CHAIN.items()
}
_screening_table = Table(
    "Screening",
    _screening,
    Column("screeningId", Integer, primary_key=True),
    Column("dataCollectionGroupId", Integer),
    Column("dataCollectionId", Integer),
)


async def _check_sub_wedge(
    db: AsyncSession, schema: SchemaInfo, sub_wedge_id: int | None, target: AcquisitionTarget
) -> None:
    """422 unless ``sub_wedge_id`` (if given) is a screening strategy's sub-wedge of the session's proposal (the
    column is a foreign key that the official schema cascades deletes along)."""
    if sub_wedge_id is None:
        return
    field = "`screening_sub_wedge_id`"
    if not all(schema.has_table(name) for name in [*_SCREENING_CHAIN, "Screening"]):
        raise InvalidInput(f"{field}: this database keeps no screening strategies")
    sub, wedge, strategy, output = _chain.values()
    screening = _screening_table
    own_dc = select(DataCollection.dataCollectionGroupId).where(
        DataCollection.dataCollectionId == screening.c.dataCollectionId
    )
    query = (
        select(BLSession.proposalId)
        .select_from(sub)
        .join(wedge, wedge.c.screeningStrategyWedgeId == sub.c.screeningStrategyWedgeId)
        .join(strategy, strategy.c.screeningStrategyId == wedge.c.screeningStrategyId)
        .join(output, output.c.screeningOutputId == strategy.c.screeningOutputId)
        .join(screening, screening.c.screeningId == output.c.screeningId)
        .join(
            DataCollectionGroup,
            or_(
                DataCollectionGroup.dataCollectionGroupId == screening.c.dataCollectionGroupId,
                DataCollectionGroup.dataCollectionGroupId.in_(own_dc.scalar_subquery().correlate(screening)),
            ),
        )
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(sub.c.screeningStrategySubWedgeId == sub_wedge_id, BLSession.proposalId == target.proposalId)
    )
    if (await db.execute(query.limit(1))).first() is None:
        raise InvalidInput(f"{field}: sub-wedge {sub_wedge_id} is not of a screening of the session's proposal")


def _same_session(body: Collection, session_id: int) -> None:
    if body.sessionId is not None and body.sessionId != session_id:
        raise InvalidInput(f"`sessionId`: {body.sessionId} is not the session {session_id} of the collection's group")


def _kind(body: Collection) -> str | None:
    return body.experiment_type or body.experimentType


def _group_values(body: Collection) -> dict[str, Any]:
    """The group's columns the body gives (None: not given)."""
    kind = _kind(body)
    values = {
        "experimentType": _BY_FOLDED.get(kind.casefold()) if kind else None,
        "blSampleId": body.sample_id(),
        "comments": body.comments,
        "actualSampleBarcode": body.actualSampleBarcode,
        "actualContainerBarcode": body.actualContainerBarcode,
        "actualSampleSlotInContainer": body.actualSampleSlotInContainer,
        "actualContainerSlotInSC": body.actualContainerSlotInSC,
    }
    return {k: v for k, v in values.items() if v is not None}


def _answer(group: DataCollectionGroup) -> dict[str, Any]:
    return {
        "dataCollectionGroupId": group.dataCollectionGroupId,
        "sessionId": group.sessionId,
        "experimentType": group.experimentType,
        "blSampleId": group.blSampleId,
    }


async def create_group(db: AsyncSession, scope: Scope, rule: AcquisitionRule, body: Collection) -> dict[str, Any]:
    """A new group (the queue's, row 15a): its id, session, experiment type and sample."""
    group, _ = await _new_group(db, scope, rule, body)
    return _answer(group)


async def _new_group(
    db: AsyncSession, scope: Scope, rule: AcquisitionRule, body: Collection
) -> tuple[DataCollectionGroup, AcquisitionTarget]:
    """A new group in the body's session (the queue's group, row 15a, or a collection arriving without one), and
    that session."""
    if body.sessionId is None:
        raise InvalidInput("`sessionId`: a new data collection group needs its session")
    target = await session_for_acquisition(db, scope, rule, body.sessionId)
    values = _group_values(body)
    await _check_sample(db, values.get("blSampleId"), target)
    group = DataCollectionGroup(sessionId=target.sessionId, startTime=body.collection_start_time or local_now())
    for name, value in values.items():
        setattr(group, name, value)
    db.add(group)
    await _flush_or_invalid(db, "The data collection group")
    return group, target


async def update_group(db: AsyncSession, scope: Scope, rule: AcquisitionRule, body: Collection) -> dict[str, Any]:
    """Update the group the body names (``group_id``, else the group of ``collection_id``); never a new one."""
    group_id = body.group_number()
    if group_id is None:
        assert body.collection_id is not None
        _, group_id, _ = await _collection(db, body.collection_id)
    _, session_id = await _group(db, group_id)
    target = await session_for_acquisition(db, scope, rule, session_id)
    _same_session(body, session_id)
    values = _group_values(body)
    await _check_sample(db, values.get("blSampleId"), target)
    group = await db.get_one(DataCollectionGroup, group_id)
    for name, value in values.items():
        setattr(group, name, value)
    if group.startTime is None and body.collection_start_time is not None:
        group.startTime = body.collection_start_time
    group.endTime = local_now()
    await _flush_or_invalid(db, f"Data collection group {group_id}")
    return _answer(group)


def _oscillation_values(body: Collection) -> dict[str, Any]:
    """The rotation's columns (ISPyBValueFactory's rules): axisEnd = start + (range + offset) × images; the axis
    is Omega when kappa is set (then omegaStart = start), else Phi."""
    if not body.oscillation_sequence:
        return {}
    osc = body.oscillation_sequence[0]
    values: dict[str, Any] = {
        "axisStart": osc.start,
        "axisRange": osc.range,
        "overlap": -osc.offset if osc.offset is not None else None,
        "numberOfImages": osc.number_of_images,
        "startImageNumber": osc.start_image_number,
        "numberOfPasses": osc.number_of_passes,
        "exposureTime": osc.exposure_time,
        "kappaStart": osc.kappaStart,
        "phiStart": osc.phiStart,
    }
    if osc.start is not None and osc.range is not None and osc.number_of_images is not None:
        axis_end = osc.start + (osc.range + (osc.offset or 0.0)) * osc.number_of_images
        if not math.isfinite(axis_end) or abs(axis_end) > 3.4e38:
            raise InvalidInput("`oscillation_sequence[0]`: its axis end is beyond what can be stored")
        values["axisEnd"] = axis_end
    if osc.start is not None or osc.kappaStart is not None:
        omega = osc.kappaStart not in (None, 0, -9999)
        values["rotationAxis"] = "Omega" if omega else "Phi"
        if omega:
            values["omegaStart"] = osc.start
    return values


def _collection_values(body: Collection) -> dict[str, Any]:
    """The collection's columns the body gives (None: not given)."""
    files = body.fileinfo
    binning = body.detector_binning_mode
    values: dict[str, Any] = {
        "runStatus": body.status,
        "comments": body.comments,
        "startTime": body.collection_start_time,
        "experimentType": _kind(body),
        "blSampleId": body.sample_id(),
        "imageDirectory": files.directory if files else None,
        "imagePrefix": files.prefix if files else None,
        "imageSuffix": files.suffix if files else None,
        "fileTemplate": files.template if files else None,
        "dataCollectionNumber": files.run_number if files else None,
        "centeringMethod": body.centringMethod,
        "actualCenteringPosition": body.actualCentringPosition,
        "detectorId": body.detectorId or None,
        "strategySubWedgeOrigId": body.screening_sub_wedge_id,
        "binning": binning if isinstance(binning, int) and binning in (1, 2) else None,
        **_oscillation_values(body),
    }
    for name in (
        "wavelength resolution resolutionAtCorner detectorDistance transmission xBeam yBeam beamSizeAtSampleX "
        "beamSizeAtSampleY beamShape slitGapHorizontal slitGapVertical undulatorGap1 undulatorGap2 undulatorGap3 "
        "synchrotronMode flux flux_end totalAbsorbedDose xtalSnapshotFullPath1 xtalSnapshotFullPath2 "
        "xtalSnapshotFullPath3 xtalSnapshotFullPath4 actualSampleBarcode actualContainerBarcode "
        "actualSampleSlotInContainer actualContainerSlotInSC"
    ).split():
        values[name] = getattr(body, name)
    return {k: v for k, v in values.items() if v is not None}


async def store_collection(
    db: AsyncSession, schema: SchemaInfo, scope: Scope, rule: AcquisitionRule, body: Collection
) -> tuple[int, int, int]:
    """A new collection (row 14) in the group ``group_id`` names, or in a new group of ``sessionId``; its id, its
    group's and its session's."""
    group_id = body.group_number()
    if group_id is None:
        group, target = await _new_group(db, scope, rule, body)
        group_id = group.dataCollectionGroupId
    else:
        _, session_id = await _group(db, group_id)
        target = await session_for_acquisition(db, scope, rule, session_id)
        _same_session(body, session_id)
    values = _collection_values(body)
    await _check_sample(db, values.get("blSampleId"), target)
    await _check_sub_wedge(db, schema, body.screening_sub_wedge_id, target)
    dc = DataCollection(dataCollectionGroupId=group_id, sessionId=target.sessionId, endTime=local_now(), **values)
    db.add(dc)
    await _flush_or_invalid(db, "The data collection")
    return dc.dataCollectionId, group_id, target.sessionId


async def update_collection(
    db: AsyncSession, schema: SchemaInfo, scope: Scope, rule: AcquisitionRule, body: Collection
) -> tuple[int, int]:
    """Update the collection ``collection_id`` names (row 16): the values given, and its end time (now, as the
    SOAP service did); never a second row. A ``group_id`` must be a group of the same session."""
    assert body.collection_id is not None
    dc_id, group_id, session_id = await _collection(db, body.collection_id)
    target = await session_for_acquisition(db, scope, rule, session_id)
    _same_session(body, session_id)
    wanted = body.group_number()
    if wanted is not None and wanted != group_id:
        _, other_session = await _group(db, wanted)
        if other_session != session_id:
            raise InvalidInput(f"`group_id`: group {wanted} is not of the collection's session {session_id}")
        group_id = wanted
    values = _collection_values(body)
    await _check_sample(db, values.get("blSampleId"), target)
    await _check_sub_wedge(db, schema, body.screening_sub_wedge_id, target)
    dc = await db.get_one(DataCollection, dc_id)
    for name, value in {**values, "dataCollectionGroupId": group_id, "endTime": local_now()}.items():
        setattr(dc, name, value)
    await _flush_or_invalid(db, f"Data collection {dc_id}")
    return dc_id, group_id


async def store_image(db: AsyncSession, scope: Scope, rule: AcquisitionRule, body: ImageIn) -> int:
    """A new image row of a collection in a session the caller may write into."""
    _, _, session_id = await _collection(db, body.dataCollectionId)
    await session_for_acquisition(db, scope, rule, session_id)
    image = Image(**body.model_dump(include=set(type(body).model_fields)))
    db.add(image)
    await _flush_or_invalid(db, "The image")
    return image.imageId
