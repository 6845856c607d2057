"""Reads of many parents' children in one statement, for the GraphQL loaders: each parent's own page of a
visible query (a window function ranks the rows per parent), or many objects by id."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import SQLColumnExpression, func, or_, select

from relational.common import AnySelect, Page
from relational.read_sessions import ReadSession

_PARENT, _RANK, _TOTAL = "_parent", "_rank", "_total"


@dataclass
class Slice:
    """One parent's page of children and how many it has in all (0 when it has none, or none visible)."""

    total: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


async def by_parent(
    db: ReadSession,
    query: AnySelect,
    parent: SQLColumnExpression[Any],
    parents: Sequence[int],
    order: Sequence[SQLColumnExpression[Any]],
    page: Page,
) -> dict[int, Slice]:
    """Per parent id, the rows of ``query`` (already scoped) whose ``parent`` it is, in ``order``, skipping
    ``page.skip`` and keeping ``page.limit``; one statement for every parent. Each parent's first row comes along
    even outside the page, so its total is known past the end too."""
    slices = {p: Slice() for p in parents}
    if not parents:
        return slices
    ranked = (
        query.order_by(None)
        .where(parent.in_(sorted(set(parents))))
        .add_columns(
            parent.label(_PARENT),
            func.row_number().over(partition_by=parent, order_by=list(order)).label(_RANK),
            func.count().over(partition_by=parent).label(_TOTAL),
        )
        .subquery()
    )
    rank = ranked.c[_RANK]
    window = or_(rank == 1, rank.between(page.skip + 1, page.skip + page.limit))
    statement = select(ranked).where(window).order_by(ranked.c[_PARENT], rank)
    for mapping in (await db.execute(statement)).mappings():
        row = dict(mapping)
        found = slices[row.pop(_PARENT)]
        found.total = int(row.pop(_TOTAL))
        if row.pop(_RANK) > page.skip:
            found.rows.append(row)
    return slices


async def by_ids(
    db: ReadSession, query: AnySelect, key: SQLColumnExpression[Any], ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The rows of ``query`` (already scoped) whose ``key`` is among ``ids``, by that key; ids out of reach or
    absent are missing from the answer."""
    if not ids:
        return {}
    statement = query.order_by(None).where(key.in_(sorted(set(ids)))).add_columns(key.label(_PARENT))
    found: dict[int, dict[str, Any]] = {}
    for mapping in (await db.execute(statement)).mappings():
        row = dict(mapping)
        found[row.pop(_PARENT)] = row
    return found
