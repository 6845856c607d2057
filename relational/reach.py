"""Where a write may land: the proposal behind a shipment, dewar, container or protein, within the caller's reach.

Writing needs the same reach as reading (a scientist of the proposal, or staff); an object out of reach is
reported as absent, never as forbidden.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from relational.common import proposal_name
from relational.models import (
    BLSession,
    Container,
    DataCollection,
    DataCollectionGroup,
    Dewar,
    LabContact,
    Proposal,
    Protein,
    Shipping,
)
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import Conflict, Forbidden, NotFound


async def proposal_in_reach(db: ReadSession, scope: Scope, proposal_id: int) -> int:
    """``proposal_id`` if the caller reaches it; NotFound otherwise."""
    query = select(Proposal.proposalId).where(Proposal.proposalId == proposal_id, scope.proposals(Proposal.proposalId))
    if (await db.execute(query)).scalar_one_or_none() is None:
        raise NotFound(f"Proposal {proposal_id} not found")
    return proposal_id


async def proposal_id_by_name(db: ReadSession, scope: Scope, name: str) -> int:
    """The id of the proposal called ``name`` (e.g. ``MX1``) if the caller reaches it; NotFound otherwise."""
    query = select(Proposal.proposalId).where(proposal_name == name, scope.proposals(Proposal.proposalId))
    found = (await db.execute(query.limit(1))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Proposal `{name}` not found")
    return int(found)


def _owner(kind: str) -> tuple[Select[Any], SQLColumnExpression[int], SQLColumnExpression[int | None]]:
    """(select of the owning proposal, id column, proposal column) for an object kind."""
    if kind == "shipping":
        return select(Shipping.proposalId), Shipping.shippingId, Shipping.proposalId
    if kind == "dewar":
        query = select(Shipping.proposalId).join(Dewar, Dewar.shippingId == Shipping.shippingId)
        return query, Dewar.dewarId, Shipping.proposalId
    if kind == "container":
        query = (
            select(Shipping.proposalId)
            .join(Dewar, Dewar.shippingId == Shipping.shippingId)
            .join(Container, Container.dewarId == Dewar.dewarId)
        )
        return query, Container.containerId, Shipping.proposalId
    if kind == "protein":
        return select(Protein.proposalId), Protein.proteinId, Protein.proposalId
    if kind == "labcontact":
        return select(LabContact.proposalId), LabContact.labContactId, LabContact.proposalId
    raise ValueError(kind)


async def owner_in_reach(db: ReadSession, scope: Scope, kind: str, object_id: int) -> int:
    """The proposal id owning a ``kind`` object (shipping, dewar, container, protein, labcontact) the caller
    reaches; NotFound (naming the object) otherwise."""
    query, id_col, proposal_col = _owner(kind)
    found = (await db.execute(query.where(id_col == object_id, scope.proposals(proposal_col)))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{kind.capitalize()} {object_id} not found")
    return int(found)


async def lock(db: AsyncSession, key: InstrumentedAttribute[int], row_id: int) -> bool:
    """Hold the row whose primary key ``key`` is ``row_id`` until the transaction ends, so that a check-then-write
    on what hangs off it (a container's positions, a proposal's acronyms) runs one transaction at a time; False
    when there is no such row. Call it before the transaction's first plain read: on MariaDB the reads after it
    then see every write committed before the lock was granted (an earlier read would pin an older snapshot).
    SQLite has no row locks: a no-op UPDATE takes its database-wide write lock instead."""
    if db.get_bind().dialect.name == "sqlite":
        table = key.class_.__table__
        result = await db.execute(update(table).where(key == row_id).values({key.key: table.c[key.key]}))
        return bool(result.rowcount)  # type: ignore[attr-defined]
    return (await db.execute(select(key).where(key == row_id).with_for_update())).first() is not None


async def flush_or_conflict(db: AsyncSession, what: str) -> None:
    """Flush; a constraint the database refuses becomes a 409 saying ``what`` was refused."""
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what}: refused by the database ({exc.orig.args[-1] if exc.orig else exc})") from None


async def count_where(db: ReadSession, column: ColumnElement[Any], *where: ColumnElement[bool]) -> int:
    return int((await db.execute(select(func.count(column)).where(*where))).scalar_one())


def collection_owners() -> Select[int, int, int]:
    """Every data collection with the proposal and session it belongs to."""
    return (
        select(DataCollection.dataCollectionId, BLSession.proposalId, BLSession.sessionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
    )


async def collections_owned(db: ReadSession, ids: list[int]) -> dict[int, tuple[int, int]]:
    """Existing data collections among ``ids``: id → (proposalId, sessionId)."""
    query = collection_owners().where(DataCollection.dataCollectionId.in_(ids))
    return {dc: (proposal, session) for dc, proposal, session in await db.execute(query)}


async def sessions_among(db: ReadSession, scope: Scope, session_ids: list[int]) -> set[int]:
    """Which of ``session_ids`` the caller reaches."""
    query = select(BLSession.sessionId).where(BLSession.sessionId.in_(session_ids), scope.sessions())
    return set((await db.execute(query)).scalars())


@dataclass(frozen=True)
class Reach:
    """What a caller reaches, for stores outside SQL: whole proposals, and sessions of other proposals one by one
    (a session member or beamline staff reaches those sessions only, never the rest of their proposals)."""

    proposals: list[int]
    sessions: list[int]


async def reach_of(db: ReadSession, scope: Scope) -> Reach | None:
    """The caller's reach as ids, in one round trip; None means every proposal."""
    if scope.all_proposals:
        return None
    whole = select(scope.whole_proposals().subquery().c.proposalId, literal(True))
    single = select(BLSession.sessionId, literal(False)).where(
        scope.single_sessions(), BLSession.proposalId.not_in(scope.whole_proposals())
    )
    rows = (await db.execute(whole.union_all(single))).all()
    return Reach(proposals=[i for i, is_proposal in rows if is_proposal], sessions=[i for i, p in rows if not p])


async def sessions_reached(
    db: ReadSession, scope: Scope, session_id: int | None = None, beamline: str | None = None
) -> list[int]:
    """Ids of the visible sessions, narrowed to one session or one beamline."""
    query = select(BLSession.sessionId).where(scope.sessions())
    if session_id is not None:
        query = query.where(BLSession.sessionId == session_id)
    if beamline is not None:
        query = query.where(BLSession.beamLineName == beamline)
    return list((await db.execute(query)).scalars())


@dataclass(frozen=True)
class AcquisitionRule:
    """Who may write acquisition records beyond staff of the session's beamline (or of every proposal)."""

    #: the caller holds the acquisition permission (beamline control software, GDA): any session
    any_session: bool
    #: the facility lets members of a session's proposal (or of the session) write into it
    members: bool


@dataclass(frozen=True)
class AcquisitionTarget:
    """The session an acquisition record goes into."""

    sessionId: int
    proposalId: int
    beamLineName: str | None


def _may_acquire(scope: Scope, rule: AcquisitionRule, beamline: str | None) -> bool:
    return rule.any_session or scope.all_proposals or (beamline is not None and beamline in scope.beamlines)


async def _is_member(db: ReadSession, scope: Scope, proposal_id: int, session_id: int | None) -> bool:
    query = select(Proposal.proposalId).where(
        Proposal.proposalId == proposal_id, Proposal.proposalId.in_(scope.whole_proposals())
    )
    if (await db.execute(query)).first() is not None:
        return True
    if session_id is None:
        return False
    own = select(BLSession.sessionId).where(BLSession.sessionId == session_id, scope.single_sessions())
    return (await db.execute(own)).first() is not None


async def session_for_acquisition(
    db: ReadSession, scope: Scope, rule: AcquisitionRule, session_id: int
) -> AcquisitionTarget:
    """The session ``session_id`` if the caller may write acquisition records into it: staff reaching it (every
    proposal, or its beamline's group), holders of the acquisition permission, and members where the rule lets
    them. NotFound when the caller cannot see it, Forbidden when they see it but may not write."""
    query = select(BLSession.sessionId, BLSession.proposalId, BLSession.beamLineName).where(
        BLSession.sessionId == session_id
    )
    row = (await db.execute(query)).first()
    visible = (
        row is not None
        and (
            await db.execute(select(BLSession.sessionId).where(BLSession.sessionId == session_id, scope.sessions()))
        ).first()
    )
    if row is None or not (visible or rule.any_session):
        raise NotFound(f"Session {session_id} not found")
    target = AcquisitionTarget(int(row[0]), int(row[1]), row[2])
    if _may_acquire(scope, rule, target.beamLineName):
        return target
    if rule.members and await _is_member(db, scope, target.proposalId, target.sessionId):
        return target
    raise Forbidden(f"You may not write acquisition records into session {session_id}")


async def proposal_for_acquisition(
    db: ReadSession, scope: Scope, rule: AcquisitionRule, proposal_id: int, beamline: str | None
) -> int:
    """``proposal_id`` if the caller may open a session of it on ``beamline`` (the same rule as
    ``session_for_acquisition``, on the proposal); NotFound or Forbidden otherwise."""
    exists = (await db.execute(select(Proposal.proposalId).where(Proposal.proposalId == proposal_id))).first()
    visible = (
        exists is not None
        and (
            await db.execute(
                select(Proposal.proposalId).where(
                    Proposal.proposalId == proposal_id, scope.proposals(Proposal.proposalId)
                )
            )
        ).first()
    )
    if exists is None or not (visible or rule.any_session or beamline in scope.beamlines):
        raise NotFound(f"Proposal {proposal_id} not found")
    if _may_acquire(scope, rule, beamline):
        return proposal_id
    if rule.members and await _is_member(db, scope, proposal_id, None):
        return proposal_id
    raise Forbidden(f"You may not open sessions of proposal {proposal_id} on beamline {beamline}")
