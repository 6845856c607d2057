"""Screening (characterisation) results of data collections: outputs, lattices, strategies, wedges and
sub-wedges, as py-ispyb nests them; and their statuses per collection."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Subquery, inspect, select, union
from sqlalchemy.orm import Mapper

from relational.common import Page, columns, paged
from relational.models import DataCollection
from relational.models.analysis import (
    Screening,
    ScreeningOutput,
    ScreeningOutputLattice,
    ScreeningStrategy,
    ScreeningStrategySubWedge,
    ScreeningStrategyWedge,
)
from relational.programs import visible_dcs
from relational.read_sessions import ReadSession
from relational.scope import Scope


def _links(dcs: Any) -> Subquery:
    """(``screeningId``, ``dataCollectionId``) of the screenings of the collections ``dcs`` (a list or a select of
    ids), linked by collection or by group (Diamond sets both), each pair once; each link on its own index."""
    by_collection = select(Screening.screeningId, Screening.dataCollectionId).where(Screening.dataCollectionId.in_(dcs))
    by_group = (
        select(Screening.screeningId, DataCollection.dataCollectionId)
        .join(DataCollection, DataCollection.dataCollectionGroupId == Screening.dataCollectionGroupId)
        .where(DataCollection.dataCollectionId.in_(dcs))
    )
    return union(by_collection, by_group).subquery()


async def get_screenings(
    db: ReadSession, scope: Scope, page: Page, dataCollectionId: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Screenings of the visible collections (of one collection), each with ``ScreeningOutput`` →
    ``ScreeningOutputLattice`` and ``ScreeningStrategy`` → ``ScreeningStrategyWedge`` →
    ``ScreeningStrategySubWedge``."""
    dcs = visible_dcs(scope, None if dataCollectionId is None else [dataCollectionId])
    linked = select(_links(dcs).c.screeningId)
    query = select(*columns(Screening)).where(Screening.screeningId.in_(linked)).order_by(Screening.screeningId)
    total, screenings = await paged(db, query, page)
    outputs = await _children(db, ScreeningOutput, ScreeningOutput.screeningId, [s["screeningId"] for s in screenings])
    output_ids = [o["screeningOutputId"] for rows in outputs.values() for o in rows]
    lattices = await _children(db, ScreeningOutputLattice, ScreeningOutputLattice.screeningOutputId, output_ids)
    strategies = await _children(db, ScreeningStrategy, ScreeningStrategy.screeningOutputId, output_ids)
    strategy_ids = [s["screeningStrategyId"] for rows in strategies.values() for s in rows]
    wedges = await _children(db, ScreeningStrategyWedge, ScreeningStrategyWedge.screeningStrategyId, strategy_ids)
    wedge_ids = [w["screeningStrategyWedgeId"] for rows in wedges.values() for w in rows]
    subs = await _children(db, ScreeningStrategySubWedge, ScreeningStrategySubWedge.screeningStrategyWedgeId, wedge_ids)
    for rows in wedges.values():
        for wedge in rows:
            wedge["ScreeningStrategySubWedge"] = subs.get(wedge["screeningStrategyWedgeId"], [])
    for rows in strategies.values():
        for strategy in rows:
            strategy["ScreeningStrategyWedge"] = wedges.get(strategy["screeningStrategyId"], [])
    for rows in outputs.values():
        for output in rows:
            output["ScreeningStrategy"] = strategies.get(output["screeningOutputId"], [])
            output["ScreeningOutputLattice"] = lattices.get(output["screeningOutputId"], [])
    for screening in screenings:
        screening["ScreeningOutput"] = outputs.get(screening["screeningId"], [])
    return total, screenings


async def _children(
    db: ReadSession, model: type, parent: Any, parent_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Rows of ``model`` per ``parent`` id, in the order stored."""
    if not parent_ids:
        return {}
    mapper: Mapper[Any] = inspect(model)
    mapped = [getattr(model, key) for key in mapper.column_attrs.keys()]  # by attribute: `RESOLUTION`
    query = select(*mapped).where(parent.in_(parent_ids)).order_by(*mapper.primary_key)
    found: dict[int, list[dict[str, Any]]] = {}
    for row in (await db.execute(query)).mappings():
        found.setdefault(row[parent.key], []).append(dict(row))
    return found


async def statuses(db: ReadSession, visible: Sequence[int]) -> list[dict[str, Any]]:
    """Per screening output of the collections ``visible`` (scoped by the caller), py-ispyb's screening status:
    the collection, the program (``programVersion``), indexing and strategy success."""
    if not visible:
        return []
    links = _links(list(visible))
    query = (
        select(
            links.c.dataCollectionId,
            Screening.programVersion,
            ScreeningOutput.indexingSuccess,
            ScreeningOutput.strategySuccess,
        )
        .join(Screening, Screening.screeningId == links.c.screeningId)
        .join(ScreeningOutput, ScreeningOutput.screeningId == Screening.screeningId)
        .order_by(links.c.dataCollectionId, Screening.screeningId, ScreeningOutput.screeningOutputId)
    )
    return [dict(r) for r in (await db.execute(query)).mappings()]
