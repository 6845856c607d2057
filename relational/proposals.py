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
    """A page of ``query`` (``page_of``) with, per proposal, how many people are on it (``_persons``) and how many
    of its sessions are on each beamline (``_beamline``, ``_sessions``): a row per proposal and beamline, counted
    for the page's proposals only."""
    page = page_of(query)
    persons = select(func.count(distinct(ProposalHasPerson.personId))).where(
        ProposalHasPerson.proposalId == page.c.proposalId
    )
    return (
        select(
            page,
            persons.scalar_subquery().label("_persons"),
            BLSession.beamLineName.label("_beamline"),
            func.count(BLSession.sessionId).label("_sessions"),
        )
        .select_from(page.outerjoin(BLSession, BLSession.proposalId == page.c.proposalId))
        .group_by(*page.c, BLSession.beamLineName)
        .order_by(*_order(page.c.proposalId, page.c.proposal, search))
    )


#: the columns ``_folded`` counts rather than shows
_COUNTED = ("proposalId", "_persons", "_beamline", "_sessions")


@lru_cache(maxsize=16)
def _fold(keys: tuple[str, ...]) -> tuple[RowPart, tuple[int, ...]]:
    """A proposal's own columns in ``_with_counts``'s rows, and where the counted ones are (``RowPart``)."""
    return RowPart(keys, [(k, k) for k in keys if k not in _COUNTED]), tuple(keys.index(k) for k in _COUNTED)


def _folded(result: Result[Any], groups: Sequence[BeamLineGroup]) -> list[dict[str, Any]]:
    """``_with_counts``'s rows folded into one per proposal, in order, with its ``_metadata``."""
    own, (at_id, at_persons, at_beamline, at_sessions) = _fold(tuple(result.keys()))
    proposals: dict[int, dict[str, Any]] = {}
    sessions: dict[int, int] = {}
    beamlines: dict[int, set[str]] = {}
    for r in result:
        pid, beamline = r[at_id], r[at_beamline]
        if pid not in proposals:
            proposals[pid] = {"proposalId": pid, **own.of(r), "_metadata": {"persons": int(r[at_persons] or 0)}}
            sessions[pid], beamlines[pid] = 0, set()
        sessions[pid] += int(r[at_sessions])
        if beamline:
            beamlines[pid].add(beamline)
    for pid, proposal in proposals.items():
        proposal["_metadata"] |= {
            "sessions": sessions[pid],
            "beamLines": sorted(beamlines[pid]),
            "uiGroups": ui_groups(groups, beamlines[pid]),
        }
    return list(proposals.values())


async def by_proposal_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible proposals among ``ids`` (without ``_metadata``)."""
    return await by_ids(db, _visible(scope), Proposal.proposalId, ids)
