"""Relay connections (edges, node, cursor, pageInfo) over the relational batch reads, capped like REST.

A cursor stands for a position in the list (``base64("cursor:<offset>")``); ``first`` caps like REST's ``limit``
(``app.deps.MAX_LIMIT``), ``after`` like its ``skip``."""

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.deps import MAX_LIMIT, MAX_SKIP
from relational.common import Page
from schemas.errors import InvalidInput

T = TypeVar("T")

DEFAULT_FIRST = 25
_PREFIX = "cursor:"


@strawberry.federation.type(shareable=True, description="Relay's page info (shareable: other subgraphs have it too)")
class PageInfo:
    hasNextPage: bool
    hasPreviousPage: bool
    startCursor: str | None
    endCursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """One page of a list; ``totalCount``: how many the caller may see in all."""

    edges: list[Edge[T]]
    pageInfo: PageInfo
    totalCount: int


def cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def _offset(after: str) -> int:
    try:
        text = base64.b64decode(after.encode("ascii"), validate=True).decode("ascii")
    except (UnicodeError, binascii.Error):
        text = ""
    number = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not number.isdigit() or len(number) > 10 or int(number) >= MAX_SKIP:
        raise InvalidInput(f"`after`: `{after[:80]}` is not a cursor of this list")
    return int(number)


def page_of(first: int, after: str | None) -> Page:
    """The page ``first``/``after`` ask for; an InvalidInput naming the argument when out of bounds."""
    if not 1 <= first <= MAX_LIMIT:
        raise InvalidInput(f"`first` must be between 1 and {MAX_LIMIT}, not {first}")
    return Page(skip=0 if after is None else _offset(after) + 1, limit=first)


def connection(
    total: int, rows: Sequence[dict[str, Any]], page: Page, node: Callable[[dict[str, Any]], T]
) -> Connection[T]:
    """The connection of one page of ``rows`` (``total`` in all), each row made a node by ``node``."""
    edges = [Edge(cursor=cursor(page.skip + i), node=node(row)) for i, row in enumerate(rows)]
    info = PageInfo(
        hasNextPage=page.skip + len(rows) < total,
        hasPreviousPage=page.skip > 0,
        startCursor=edges[0].cursor if edges else None,
        endCursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, pageInfo=info, totalCount=total)
