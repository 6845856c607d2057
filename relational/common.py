"""Expressions and helpers shared by the data-access modules."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeAlias, TypeVarTuple
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Integer,
    Result,
    Select,
    SQLColumnExpression,
    String,
    Subquery,
    bindparam,
    cast,
    func,
    select,
)

from relational.models import BLSession, Proposal
from relational.read_sessions import ReadSession

#: `MX1`: py-ispyb's proposal name (either part may be NULL in the database: it then reads as empty)
proposal_name: ColumnElement[str] = (
    func.coalesce(Proposal.proposalCode, "") + func.coalesce(Proposal.proposalNumber, "")
).label("proposal")
#: `MX1-2`: py-ispyb's session name; NULL where the session has no visit number
session_name: ColumnElement[str] = (
    func.coalesce(Proposal.proposalCode, "")
    + func.coalesce(Proposal.proposalNumber, "")
    + "-"
    + cast(BLSession.visit_number, String)
).label("session")


_TOTAL = "_total"
#: a SELECT of any columns (SQLAlchemy types a ``Select`` by the types of its columns)
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class Page:
    skip: int = 0
    limit: int = 25


#: a statement's paged and counting forms, made once per statement object (a statement built once per shape, see
#: ``relational.statements``, keeps its forms, and so SQLAlchemy's compiled SQL, for every request)
_FORMS: WeakKeyDictionary[AnySelect, tuple[AnySelect, AnySelect]] = WeakKeyDictionary()


def _forms(query: AnySelect) -> tuple[AnySelect, AnySelect]:
    forms = _FORMS.get(query)
    if forms is None:
        windowed = query.add_columns(func.count().over().label(_TOTAL))
        windowed = windowed.offset(bindparam("_skip", type_=Integer())).limit(bindparam("_limit", type_=Integer()))
        counting = select(func.count()).select_from(query.order_by(None).subquery())
        forms = _FORMS[query] = (windowed, counting)
    return forms


def page_of(query: AnySelect) -> Subquery:
    """``query``'s page as a subquery (the total as a column ``_total``), to join rows below each of its rows in the
    same round trip; ``paged_with`` runs a statement built on it."""
    return _forms(query)[0].subquery("page")


async def count(db: ReadSession, query: AnySelect, params: Mapping[str, Any] | None = None) -> int:
    """Rows a query would return, without paging."""
    return int((await db.execute(_forms(query)[1], params)).scalar_one())


def _as_dicts(result: Result[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in result.mappings()]


class RowPart:
    """Some columns of a result's rows, taken by position under names: worked out once per result shape, it makes
    each row's dict without looking its columns up by name (a row's nesting built by name cost more than reading
    it)."""

    def __init__(self, keys: Sequence[str], pairs: Iterable[tuple[str, str]]) -> None:
        """``pairs``: (a name in the dict, the key of its column in ``keys``, the result's)."""
        at = {key: n for n, key in enumerate(keys)}
        chosen = list(pairs)
        self.names = tuple(name for name, _ in chosen)
        positions = [at[key] for _, key in chosen]
        taken: Callable[[Sequence[Any]], Any] = itemgetter(*positions) if positions else lambda _row: ()
        self._take = (lambda row: (taken(row),)) if len(positions) == 1 else taken

    @classmethod
    def prefixed(cls, keys: Sequence[str], prefix: str) -> "RowPart":
        """The columns of ``keys`` labelled ``prefix``…, named without it."""
        return cls(keys, [(key.removeprefix(prefix), key) for key in keys if key.startswith(prefix)])

    def of(self, row: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(self.names, self._take(row), strict=True))


async def paged_with(
    db: ReadSession,
    query: AnySelect,
    statement: AnySelect,
    page: Page,
    params: Mapping[str, Any] | None = None,
    fold: Callable[[Result[Any]], list[dict[str, Any]]] = _as_dicts,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, rows of this page) of ``query`` in one round trip, read through ``statement``: ``query``'s page or a
    statement built on ``page_of(query)``, whose rows ``fold`` makes dicts (each keeping ``_total``). A second query
    counts only when the page is past the end. ``query`` must not be DISTINCT; ``params`` are the values of its
    named bind parameters."""
    bound = {**(params or {}), "_skip": page.skip, "_limit": page.limit}
    rows = fold(await db.execute(statement, bound))
    if not rows:
        return (0 if page.skip == 0 else await count(db, query, params)), []
    total = int(rows[0][_TOTAL])
    for row in rows:
        del row[_TOTAL]
    return total, rows


async def paged(
    db: ReadSession, query: AnySelect, page: Page, params: Mapping[str, Any] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """(total, rows of this page as dicts) in one round trip: the total rides on each row as a window count
    (``paged_with``)."""
    return await paged_with(db, query, _forms(query)[0], page, params)


def where_given(query: Select[*Columns], *filters: tuple[SQLColumnExpression[Any], object]) -> Select[*Columns]:
    """``query`` narrowed to ``column == value`` for each (column, value) whose value is not None."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def columns(model: type, *exclude: str) -> list[ColumnElement[Any]]:
    """Every mapped column of ``model`` (selected by name), less ``exclude``."""
    return [c for c in model.__table__.columns if c.name not in exclude]  # type: ignore[attr-defined]
