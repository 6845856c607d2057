"""Data collections with their group, session and sample, scoped to the caller."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import bindparam, func, select

from relational import best_processing
from relational.attachments import FILES_OF_COLLECTION, FILES_OF_GROUP
from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, RowPart, paged, proposal_name, session_name
from relational.flavour import SchemaInfo
from relational.models import (
    BLSample,
    BLSession,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Proposal,
    Protein,
)
from relational.models.analysis import ImageQualityIndicators
from relational.models.workflows import Workflow
from relational.programs import visible_dcs
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.statements import built_once
from relational.workflows import WORKFLOW_FIELDS, WORKFLOW_OF_GROUP, has_workflows

_DC_FIELDS = (
    "dataCollectionId runStatus startTime endTime imageDirectory fileTemplate imageContainerSubPath imagePrefix "
    "dataCollectionNumber numberOfImages numberOfPasses wavelength exposureTime flux xBeam yBeam "
    "beamSizeAtSampleX beamSizeAtSampleY transmission resolution detectorDistance axisStart axisEnd axisRange "
    "rotationAxis overlap phiStart kappaStart omegaStart chiStart comments magnification binning "
    "particleDiameter defocusStepSize amountAstigmatism voltage objAperture"
).split()
_GROUP_FIELDS = ("dataCollectionGroupId", "experimentType", "startTime", "endTime", "comments")
_SNAPSHOTS = ("xtalSnapshotFullPath1", "xtalSnapshotFullPath2", "xtalSnapshotFullPath3", "xtalSnapshotFullPath4")
_PLOT = "_qualityPlot"
_WORKFLOW = "workflow_"
#: the key of the file count ``get_items`` adds with ``files``
FILES = "_attachments"


def _columns(schema: SchemaInfo) -> list[Any]:
    dc = [getattr(DataCollection, f) for f in _DC_FIELDS] + [getattr(DataCollection, s) for s in _SNAPSHOTS]
    group = [getattr(DataCollectionGroup, f).label(f"group_{f}") for f in _GROUP_FIELDS]
    optional = [schema.optional("DataCollection", "xBeamPix"), schema.optional("DataCollection", "yBeamPix")]
    return dc + optional + group + [schema.optional("DataCollection", "imageQualityIndicatorsPlotPath").label(_PLOT)]


@dataclass(frozen=True)
class _Layout:
    """Where py-ispyb's nesting of a collection lies in a result row (``_shape``), worked out once per result
    shape instead of per row: the item's own columns, its group's (``group_``), its files (snapshots and quality
    plot), and the columns of each prefix asked for (``workflow_``, ``s_``, ``b_``)."""

    item: RowPart
    group: RowPart
    files: RowPart
    prefixed: dict[str, RowPart]


@lru_cache(maxsize=64)
def _layout(keys: tuple[str, ...], prefixes: tuple[str, ...]) -> _Layout:
    nested = (*prefixes, "group_")
    own = [(k, k) for k in keys if not k.startswith(nested) and k not in _SNAPSHOTS and k != _PLOT]
    files = [(str(i + 1), s) for i, s in enumerate(_SNAPSHOTS)] + [("analysis", _PLOT)]
    group = [(f, f"group_{f}") for f in _GROUP_FIELDS]
    prefixed = {p: RowPart.prefixed(keys, p) for p in prefixes}
    return _Layout(RowPart(keys, own), RowPart(keys, group), RowPart(keys, files), prefixed)


def _shape(row: Sequence[Any], layout: _Layout) -> dict[str, Any]:
    """py-ispyb's nesting: ``DataCollectionGroup``; the files behind ``_metadata.snapshots`` (snapshots 1-4 and the
    quality plot, ``analysis``) as stored, in ``_files``: whether they can be served is the file layer's to say."""
    item = layout.item.of(row)
    item["DataCollectionGroup"] = layout.group.of(row)
    item["_metadata"] = {"snapshots": {}}
    item["_files"] = layout.files.of(row)
    item["GridInfo"] = []
    return item


#: what ``get_items`` may count: files attached to each collection, or to any collection of its group
Files = Literal["collection", "group"]


@built_once
def _items(schema: SchemaInfo, files: Files | None) -> AnySelect:
    """The collections ``ids`` with their group and its workflow (``workflow_`` columns) where the flavour has
    workflows; with ``files``, their count (``FILES``)."""
    counted = [] if files is None else [(FILES_OF_GROUP if files == "group" else FILES_OF_COLLECTION).label(FILES)]
    query = (
        select(*_columns(schema), *counted)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .where(DataCollection.dataCollectionId.in_(bindparam("ids", expanding=True)))
    )
    if not has_workflows(schema):
        return query
    workflow = [getattr(Workflow, f).label(f"{_WORKFLOW}{f}") for f in WORKFLOW_FIELDS]
    return query.add_columns(*workflow).outerjoin(Workflow, Workflow.workflowId == WORKFLOW_OF_GROUP)


async def get_items(
    db: ReadSession, schema: SchemaInfo, ids: Sequence[int], files: Files | None = None
) -> dict[int, dict[str, Any]]:
    """py-ispyb's data-collection items by id, each group with its ``Workflow`` (callers have already scoped
    ``ids``); with ``files``, each with the count of its attached files in the same query (``FILES``)."""
    if not ids:
        return {}
    items = {}
    result = await db.execute(_items(schema, files), {"ids": list(ids)})
    layout = _layout(tuple(result.keys()), (_WORKFLOW,))
    workflows = layout.prefixed[_WORKFLOW]
    for row in result:
        item = _shape(row, layout)
        workflow = workflows.of(row)
        item["DataCollectionGroup"]["Workflow"] = workflow if workflow.get("workflowId") is not None else None
        items[item["dataCollectionId"]] = item
    return items


@built_once
def _one(scope: Scope, schema: SchemaInfo) -> AnySelect:
    session_cols = [
        BLSession.sessionId.label("s_sessionId"),
        session_name.label("s_session"),
        BLSession.proposalId.label("s_proposalId"),
        proposal_name.label("s_proposal"),
        BLSession.beamLineName.label("s_beamLineName"),
        BLSession.startDate.label("s_startDate"),
        BLSession.endDate.label("s_endDate"),
    ]
    sample_cols = [
        BLSample.blSampleId.label("b_blSampleId"),
        BLSample.name.label("b_name"),
        BLSample.containerId.label("b_containerId"),
        BLSample.location.label("b_location"),
        BLSample.crystalId.label("b_crystalId"),
        Crystal.proteinId.label("b_proteinId"),
        Protein.acronym.label("b_acronym"),
    ]
    return (
        select(*_columns(schema), *session_cols, *sample_cols)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .outerjoin(BLSample, BLSample.blSampleId == DataCollectionGroup.blSampleId)
        .outerjoin(Crystal, Crystal.crystalId == BLSample.crystalId)
        .outerjoin(Protein, Protein.proteinId == Crystal.proteinId)
        .where(DataCollection.dataCollectionId == bindparam("dataCollectionId"), scope.sessions())
    )


async def get_datacollection(
    db: ReadSession, scope: Scope, schema: SchemaInfo, dataCollectionId: int
) -> dict[str, Any] | None:
    """One visible data collection with its group, session and sample; None if absent or out of reach."""
    found = await db.execute(_one(scope, schema), {"dataCollectionId": dataCollectionId})
    layout = _layout(tuple(found.keys()), ("s_", "b_"))
    row = found.first()
    if row is None:
        return None
    item = _shape(row, layout)
    item["BLSession"] = layout.prefixed["s_"].of(row)
    sample = layout.prefixed["b_"].of(row)
    item["BLSample"] = sample if sample["blSampleId"] is not None else None
    return item


async def session_overview(db: ReadSession, scope: Scope, session_id: int) -> list[dict[str, Any]] | None:
    """A visible session's collections with their best SQL auto-processing (lowest high-resolution limit of an
    overall shell, and how many programs ran); None when the session is absent or out of reach."""
    visible = select(BLSession.sessionId).where(BLSession.sessionId == session_id, scope.sessions())
    if (await db.execute(visible)).scalar_one_or_none() is None:
        return None
    best = best_processing.best_per_collection()
    query = (
        select(
            DataCollection.dataCollectionId,
            DataCollectionGroup.experimentType,
            DataCollection.startTime,
            DataCollection.runStatus,
            DataCollection.numberOfImages,
            best.c.resolution.label("bestResolution"),
            func.coalesce(best.c.programs, 0).label("autoProcPrograms"),
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .outerjoin(best, best.c.dc == DataCollection.dataCollectionId)
        .where(DataCollectionGroup.sessionId == session_id)
        .order_by(DataCollection.startTime, DataCollection.dataCollectionId)
    )
    return [dict(r) for r in (await db.execute(query)).mappings()]


def _visible(scope: Scope, schema: SchemaInfo) -> AnySelect:
    """Collections the caller sees, flat: their own fields, their group's id, session and sample (no order)."""
    return (
        select(
            *[getattr(DataCollection, f) for f in _DC_FIELDS],
            schema.optional("DataCollection", "xBeamPix"),
            schema.optional("DataCollection", "yBeamPix"),
            DataCollection.dataCollectionGroupId,
            DataCollectionGroup.sessionId,
            DataCollectionGroup.blSampleId,
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(scope.sessions())
    )


def _visible_groups(scope: Scope) -> AnySelect:
    """Data-collection groups the caller sees (no order)."""
    return (
        select(
            *[getattr(DataCollectionGroup, f) for f in _GROUP_FIELDS],
            DataCollectionGroup.sessionId,
            DataCollectionGroup.blSampleId,
        )
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(scope.sessions())
    )


#: collections and groups in the order they were taken
_ORDER = (DataCollection.startTime, DataCollection.dataCollectionId)
_GROUP_ORDER = (DataCollectionGroup.startTime, DataCollectionGroup.dataCollectionGroupId)


async def of_sessions(
    db: ReadSession, scope: Scope, schema: SchemaInfo, session_ids: Sequence[int], page: Page
) -> dict[int, Slice]:
    """Per session, that page of its visible collections, oldest first (flat rows)."""
    return await by_parent(db, _visible(scope, schema), DataCollectionGroup.sessionId, session_ids, _ORDER, page)


async def of_groups(
    db: ReadSession, scope: Scope, schema: SchemaInfo, group_ids: Sequence[int], page: Page
) -> dict[int, Slice]:
    """Per data-collection group, that page of its visible collections, oldest first (flat rows)."""
    parent = DataCollection.dataCollectionGroupId
    return await by_parent(db, _visible(scope, schema), parent, group_ids, _ORDER, page)


async def by_collection_ids(
    db: ReadSession, scope: Scope, schema: SchemaInfo, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The visible collections among ``ids`` (flat rows)."""
    return await by_ids(db, _visible(scope, schema), DataCollection.dataCollectionId, ids)


async def groups_of_sessions(db: ReadSession, scope: Scope, session_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per session, that page of its visible data-collection groups, oldest first."""
    parent = DataCollectionGroup.sessionId
    return await by_parent(db, _visible_groups(scope), parent, session_ids, _GROUP_ORDER, page)


async def groups_by_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible data-collection groups among ``ids``."""
    return await by_ids(db, _visible_groups(scope), DataCollectionGroup.dataCollectionGroupId, ids)


#: py-ispyb's per-image series, in the order of ``imageNumber``
QUALITY_SERIES = ("imageNumber", "totalIntegratedSignal", "method2Res", "goodBraggCandidates")


async def per_image_analysis(
    db: ReadSession, scope: Scope, page: Page, dataCollectionId: int | None, dataCollectionGroupId: int | None
) -> tuple[int, dict[str, Any]]:
    """(images in all, py-ispyb's ``PerImageAnalysis``): that page of the visible collections' image quality
    indicators as one series per indicator, aligned on ``imageNumber`` (a missing value is null)."""
    dcs = visible_dcs(scope, None if dataCollectionId is None else [dataCollectionId])
    if dataCollectionGroupId is not None:
        dcs = dcs.where(DataCollection.dataCollectionGroupId == dataCollectionGroupId)
    query = (
        select(*(getattr(ImageQualityIndicators, name) for name in QUALITY_SERIES))
        .where(ImageQualityIndicators.dataCollectionId.in_(dcs))
        .order_by(ImageQualityIndicators.dataCollectionId, ImageQualityIndicators.imageNumber)
    )
    total, rows = await paged(db, query, page)
    analysis: dict[str, Any] = {"dataCollectionId": dataCollectionId}
    analysis |= {name: [row[name] for row in rows] for name in QUALITY_SERIES}
    return total, analysis
