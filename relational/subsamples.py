"""Sub samples (points and regions of a sample), and what samples are made of (components, concentration units),
scoped to the caller through their sample's protein's (or the component's) proposal."""

from typing import Any

from sqlalchemy import column, func, literal_column, null, select, table
from sqlalchemy.orm import aliased

from relational.common import Page, paged, proposal_name, where_given
from relational.flavour import SchemaInfo
from relational.models import BLSample, Crystal, DataCollectionGroup, Proposal, Protein
from relational.models.compositions import Component, ComponentType, ConcentrationType
from relational.models.subsamples import BLSubSample, Position
from relational.read_sessions import ReadSession
from relational.scope import Scope

#: ``DataCollection.blSubSampleId`` (both flavours; not mapped by the collections' model)
_DC = table("DataCollection", column("dataCollectionId"), column("dataCollectionGroupId"), column("blSubSampleId"))
_P1, _P2 = aliased(Position), aliased(Position)


def _has(schema: SchemaInfo, name: str, field: str | None = None) -> bool:
    if field is None:
        return schema.has_table(name)
    return field.lower() in schema.columns.get(name, frozenset())


async def get_subsamples(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    *,
    blSubSampleId: int | None = None,
    blSampleId: int | None = None,
    proteinId: int | None = None,
    containerId: int | None = None,
    proposal: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible sub samples, newest first, py-ispyb's shape: their sample's name, both positions, and how many data
    collections (of which experiment types) were taken of each."""
    if not _has(schema, "BLSubSample"):
        return 0, []
    kind = literal_column("BLSubSample.type") if _has(schema, "BLSubSample", "type") else null()
    query = (
        select(
            BLSubSample.blSubSampleId,
            BLSubSample.blSampleId,
            kind.label("type"),
            BLSubSample.comments,
            BLSubSample.recordTimeStamp,
            BLSample.name.label("sample_name"),
            _P1.positionId.label("p1"),
            _P1.posX.label("p1x"),
            _P1.posY.label("p1y"),
            _P2.positionId.label("p2"),
            _P2.posX.label("p2x"),
            _P2.posY.label("p2y"),
        )
        .join(BLSample, BLSample.blSampleId == BLSubSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .join(Proposal, Proposal.proposalId == Protein.proposalId)
        .outerjoin(_P1, _P1.positionId == BLSubSample.positionId)
        .outerjoin(_P2, _P2.positionId == BLSubSample.position2Id)
        .where(scope.proposals(Protein.proposalId))
        .order_by(BLSubSample.blSubSampleId.desc())
    )
    query = where_given(
        query,
        (BLSubSample.blSubSampleId, blSubSampleId),
        (BLSubSample.blSampleId, blSampleId),
        (Protein.proteinId, proteinId),
        (BLSample.containerId, containerId),
        (proposal_name, proposal or None),
    )
    total, rows = await paged(db, query, page)
    collected = await _collected(db, [r["blSubSampleId"] for r in rows])
    return total, [_shaped(row, collected.get(row["blSubSampleId"], (0, []))) for row in rows]


def _shaped(row: dict[str, Any], collected: tuple[int, list[str]]) -> dict[str, Any]:
    positions = {
        f"Position{n}": {"posX": row[f"p{n}x"], "posY": row[f"p{n}y"]} if row[f"p{n}"] is not None else None
        for n in (1, 2)
    }
    return {
        **{k: row[k] for k in ("blSubSampleId", "blSampleId", "type", "comments", "recordTimeStamp")},
        "BLSample": {"name": row["sample_name"]},
        **positions,
        "_metadata": {"datacollections": collected[0], "types": collected[1]},
    }


async def _collected(db: ReadSession, ids: list[int]) -> dict[int, tuple[int, list[str]]]:
    """Per sub sample: its data collections and their experiment types."""
    if not ids:
        return {}
    query = (
        select(_DC.c.blSubSampleId, DataCollectionGroup.experimentType, func.count(_DC.c.dataCollectionId))
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == _DC.c.dataCollectionGroupId)
        .where(_DC.c.blSubSampleId.in_(ids))
        .group_by(_DC.c.blSubSampleId, DataCollectionGroup.experimentType)
    )
    out: dict[int, tuple[int, list[str]]] = {}
    for sub_id, kind, count in await db.execute(query):
        total, kinds = out.get(sub_id, (0, []))
        out[sub_id] = (total + count, sorted({*kinds, kind}) if kind else kinds)
    return out


async def get_components(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    *,
    componentId: int | None = None,
    proposal: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible components (those of the caller's proposals), by name, each with its type."""
    if not (_has(schema, "Component") and _has(schema, "ComponentType")):
        return 0, []
    query = (
        select(
            Component.componentId,
            Component.name,
            Component.composition,
            ComponentType.componentTypeId,
            ComponentType.name.label("type_name"),
        )
        .join(ComponentType, ComponentType.componentTypeId == Component.componentTypeId)
        .join(Proposal, Proposal.proposalId == Component.proposalId)
        .where(scope.proposals(Component.proposalId))
        .order_by(Component.name, Component.componentId)
    )
    query = where_given(query, (Component.componentId, componentId), (proposal_name, proposal or None))
    total, rows = await paged(db, query, page)
    for row in rows:
        row["ComponentType"] = {"componentTypeId": row.pop("componentTypeId"), "name": row.pop("type_name")}
    return total, rows


async def get_concentration_types(
    db: ReadSession, schema: SchemaInfo, concentrationTypeId: int | None = None
) -> list[dict[str, Any]]:
    """Concentration units, by name (a facility's list, the same for everyone); Diamond's inactive ones only when
    asked for by id."""
    if not _has(schema, "ConcentrationType"):
        return []
    query = select(ConcentrationType.concentrationTypeId, ConcentrationType.name, ConcentrationType.symbol)
    if concentrationTypeId is not None:
        query = query.where(ConcentrationType.concentrationTypeId == concentrationTypeId)
    elif _has(schema, "ConcentrationType", "active"):
        query = query.where(func.coalesce(literal_column("ConcentrationType.active"), 1) != 0)
    rows = await db.execute(query.order_by(ConcentrationType.name, ConcentrationType.concentrationTypeId))
    return [dict(row) for row in rows.mappings()]
