"""Proposals, scoped to the caller."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    String,
    bindparam,
    case,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from relational.batches import by_ids
from relational.common import AnySelect, Page, paged, proposal_name
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
    ``persons``, ``sessions`` and ``beamLines``. Code, number and title are never null (``""``), as MXCuBE needs."""
    given = {"proposalId": proposal_id, "proposal": proposal or None, "search": search or None}
    values = {k: v for k, v in given.items() if v is not None}
    if search:
        values["like"] = f"%{search}%"
    total, rows = await paged(db, _proposals(scope, frozenset(given.keys() & values.keys())), page, values)
    await _add_counts(db, rows, groups)
    return total, rows


@built_once
def _proposals(scope: Scope, given: frozenset[str]) -> AnySelect:
    """The visible proposals, newest first, narrowed by the filters ``given`` (bind parameters of their names;
    ``search`` with ``like``, its pattern)."""
    query = _visible(scope)
    if "proposalId" in given:
        query = query.where(Proposal.proposalId == bindparam("proposalId"))
    if "proposal" in given:
        query = query.where(proposal_name == bindparam("proposal"))
    order: list[ColumnElement[Any]] = [Proposal.proposalId.desc()]
    if "search" in given:
        like, search = bindparam("like", type_=String()), bindparam("search", type_=String())
        on_beamline = select(BLSession.proposalId).where(BLSession.beamLineName.like(search))
        query = query.where(
            or_(Proposal.title.like(like), proposal_name.like(like), Proposal.proposalId.in_(on_beamline))
        )
        order.insert(0, case((proposal_name == search, 0), else_=1))
    return query.order_by(*order)


#: per proposal ``ids``, in one round trip: how many people are on it (``persons`` rows), and how many of its
#: sessions are on each beamline (``session`` rows: a row per beamline, not per session)
_COUNTS: CompoundSelect[Any] = union_all(
    select(
        ProposalHasPerson.proposalId,
        literal("persons").label("what"),
        func.count(distinct(ProposalHasPerson.personId)).label("n"),
        null().label("beamLineName"),
    )
    .where(ProposalHasPerson.proposalId.in_(bindparam("ids", expanding=True)))
    .group_by(ProposalHasPerson.proposalId),
    select(BLSession.proposalId, literal("session").label("what"), func.count().label("n"), BLSession.beamLineName)
    .where(BLSession.proposalId.in_(bindparam("ids", expanding=True)))
    .group_by(BLSession.proposalId, BLSession.beamLineName),
)


async def _add_counts(db: ReadSession, rows: Sequence[dict[str, Any]], groups: Sequence[BeamLineGroup]) -> None:
    ids = [r["proposalId"] for r in rows]
    if not ids:
        return
    persons: dict[int, int] = {}
    sessions: dict[int, int] = {}
    beamlines: dict[int, set[str]] = {}
    for pid, what, n, beamline in await db.execute(_COUNTS, {"ids": ids}):
        if what == "persons":
            persons[pid] = int(n)
            continue
        sessions[pid] = sessions.get(pid, 0) + int(n)
        if beamline:
            beamlines.setdefault(pid, set()).add(beamline)
    for row in rows:
        pid = row["proposalId"]
        row["_metadata"] = {
            "persons": persons.get(pid, 0),
            "sessions": sessions.get(pid, 0),
            "beamLines": sorted(beamlines.get(pid, ())),
            "uiGroups": ui_groups(groups, beamlines.get(pid, ())),
        }


async def by_proposal_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible proposals among ``ids`` (without ``_metadata``)."""
    return await by_ids(db, _visible(scope), Proposal.proposalId, ids)
