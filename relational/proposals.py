"""Proposals, scoped to the caller."""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Result,
    SQLColumnExpression,
    String,
    bindparam,
    case,
    cast,
    distinct,
    func,
    or_,
    select,
)

from relational.batches import by_ids
from relational.common import AnySelect, Page, RowPart, page_of, paged_with, proposal_name
from relational.models import BLSession, Proposal, ProposalHasPerson
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.statements import built_once
from schemas.options import BeamLineGroup, ui_groups


def _visible(scope: Scope) -> AnySelect:
    """Proposals the caller sees (no order)."""
    return select(
        Proposal.proposalId,
        func.coalesce(Proposal.proposalCode, "").label("proposalCode"),
        func.coalesce(Proposal.proposalNumber, "").label("proposalNumber"),
        proposal_name,
        func.coalesce(Proposal.title, "").label("title"),
        Proposal.state,
    ).where(scope.proposals(Proposal.proposalId))


async def get_proposals(
    db: ReadSession,
    scope: Scope,
    page: Page,
    search: str | None = None,
    proposal: str | None = None,
    proposal_id: int | None = None,
    groups: Sequence[BeamLineGroup] = (),
) -> tuple[int, list[dict[str, Any]]]:
    """Visible proposals, newest first (with ``search``, the proposal named exactly so first), each with
    ``persons``, ``sessions`` and ``beamLines``: the page, its total and the counts in one query. Code, number and
    title are never null (``""``), as MXCuBE needs."""
    given = {"proposalId": proposal_id, "proposal": proposal or None, "search": search or None}
    values = {k: v for k, v in given.items() if v is not None}
    if search:
        values["like"] = f"%{search}%"
    query = _proposals(scope, frozenset(given.keys() & values.keys()))
    statement = _with_counts(query, "search" in values)
    return await paged_with(db, query, statement, page, values, lambda result: _folded(result, groups))


@built_once
def _proposals(scope: Scope, given: frozenset[str]) -> AnySelect:
    """The visible proposals, newest first, narrowed by the filters ``given`` (bind parameters of their names;
    ``search`` with ``like``, its pattern)."""
    query = _visible(scope)
    if "proposalId" in given:
        query = query.where(Proposal.proposalId == bindparam("proposalId"))
    if "proposal" in given:
        query = query.where(proposal_name == bindparam("proposal"))
    if "search" in given:
        like = bindparam("like", type_=String())
        on_beamline = select(BLSession.proposalId).where(
            BLSession.beamLineName.like(bindparam("search", type_=String()))
        )
        query = query.where(
            or_(Proposal.title.like(like), proposal_name.like(like), Proposal.proposalId.in_(on_beamline))
        )
    return query.order_by(*_order(Proposal.proposalId, proposal_name, "search" in given))


def _order(
    proposal_id: SQLColumnExpression[int], name: SQLColumnExpression[str], search: bool
) -> list[ColumnElement[Any]]:
    """Newest first; with ``search``, the proposal of that exact name before all."""
    order: list[ColumnElement[Any]] = [proposal_id.desc()]
    if search:
        order.insert(0, case((name == bindparam("search", type_=String()), 0), else_=1))
    return order


@built_once
def _with_counts(query: AnySelect, search: bool) -> AnySelect:
    """A page of ``query`` (``page_of``) with, per proposal, how many people are on it (``_persons``), how many
    sessions it has (``_sessions``) and their beamlines (``_beamlines``, packed by ``_packed``): a row per proposal,
    each count a subquery through the proposal's index. MariaDB runs this 20-30 % faster than the page joined to
    its sessions and grouped by beamline (``bench/README.md``)."""
    page = page_of(query)
    of_proposal = BLSession.proposalId == page.c.proposalId
    persons = select(func.count(distinct(ProposalHasPerson.personId))).where(
        ProposalHasPerson.proposalId == page.c.proposalId
    )
    sessions = select(func.count()).select_from(BLSession).where(of_proposal)
    beamlines = select(func.group_concat(distinct(_packed(BLSession.beamLineName)))).where(of_proposal)
    return select(
        page,
        persons.scalar_subquery().label("_persons"),
        sessions.scalar_subquery().label("_sessions"),
        beamlines.scalar_subquery().label("_beamlines"),
    ).order_by(*_order(page.c.proposalId, page.c.proposal, search))


def _packed(name: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """A beamline name as ``_unpacked`` reads it among others (``GROUP_CONCAT``'s commas): its length in
    characters, a colon, the name; so a comma or colon in a name cannot split it."""
    return cast(func.char_length(name), String) + ":" + name


def _unpacked(packed: str | None) -> set[str]:
    """The names ``_packed`` and joined by commas; a name cut short (``group_concat_max_len``) is left out."""
    names: set[str] = set()
    at = 0
    while packed and at < len(packed):
        colon = packed.find(":", at)
        length = packed[at:colon]
        if colon < 0 or not length.isdecimal():
            break
        end = colon + 1 + int(length)
        if end > len(packed):
            break
        names.add(packed[colon + 1 : end])
        at = end + 1  # past the comma
    return names


#: the columns ``_folded`` reads into ``_metadata`` rather than shows
_COUNTED = ("_persons", "_sessions", "_beamlines")


@lru_cache(maxsize=16)
def _fold(keys: tuple[str, ...]) -> tuple[RowPart, tuple[int, ...]]:
    """A proposal's own columns in ``_with_counts``'s rows, and where the counted ones are (``RowPart``)."""
    return RowPart(keys, [(k, k) for k in keys if k not in _COUNTED]), tuple(keys.index(k) for k in _COUNTED)


def _folded(result: Result[Any], groups: Sequence[BeamLineGroup]) -> list[dict[str, Any]]:
    """``_with_counts``'s rows, each proposal with its ``_metadata``."""
    own, (at_persons, at_sessions, at_beamlines) = _fold(tuple(result.keys()))
    proposals = []
    for r in result:
        beamlines = {name for name in _unpacked(r[at_beamlines]) if name}
        metadata = {
            "persons": int(r[at_persons] or 0),
            "sessions": int(r[at_sessions] or 0),
            "beamLines": sorted(beamlines),
            "uiGroups": ui_groups(groups, beamlines),
        }
        proposals.append({**own.of(r), "_metadata": metadata})
    return proposals


async def by_proposal_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible proposals among ``ids`` (without ``_metadata``)."""
    return await by_ids(db, _visible(scope), Proposal.proposalId, ids)
