"""People (py-ispyb's ``/persons``): those with a login on the proposals and sessions the caller reaches."""

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from relational.common import AnySelect, Page, paged, proposal_name
from relational.models import BLSession, LabContact, Person, Proposal, ProposalHasPerson, SessionHasPerson
from relational.read_sessions import ReadSession
from relational.scope import Scope

#: the links and sessions before a session (aliases built once: building one adapts every column)
_EARLIER_LINK, _EARLIER, _THIS = aliased(SessionHasPerson), aliased(BLSession), aliased(BLSession)


def _visible(scope: Scope) -> ColumnElement[bool]:
    """People on a proposal the caller reaches (its members and lab contacts) or on a session the caller reaches."""
    on_sessions = select(SessionHasPerson.personId).join(BLSession, BLSession.sessionId == SessionHasPerson.sessionId)
    return or_(
        Person.personId.in_(select(ProposalHasPerson.personId).where(scope.proposals(ProposalHasPerson.proposalId))),
        Person.personId.in_(select(LabContact.personId).where(scope.proposals(LabContact.proposalId))),
        Person.personId.in_(on_sessions.where(scope.sessions())),
    )


def _on_proposal(proposal: str) -> ColumnElement[bool]:
    """People on the proposal named ``proposal``: members, lab contacts, people on its sessions."""
    named = select(Proposal.proposalId).where(proposal_name == proposal)
    sessions = select(BLSession.sessionId).where(BLSession.proposalId.in_(named))
    return or_(
        Person.personId.in_(select(ProposalHasPerson.personId).where(ProposalHasPerson.proposalId.in_(named))),
        Person.personId.in_(select(LabContact.personId).where(LabContact.proposalId.in_(named))),
        Person.personId.in_(select(SessionHasPerson.personId).where(SessionHasPerson.sessionId.in_(sessions))),
    )


def _on_session(query: AnySelect, scope: Scope, session_id: int) -> AnySelect:
    """People on a reached session, with their role and whether remote, and the sessions before it (that the
    caller reaches) they were on: how many and the last one's start."""
    earlier_link, earlier, this = _EARLIER_LINK, _EARLIER, _THIS
    before = (
        select(earlier_link.personId, earlier.startDate)
        .join(earlier, earlier.sessionId == earlier_link.sessionId)
        .join(this, this.sessionId == session_id)
        .where(
            earlier.startDate < this.startDate,
            earlier.sessionId.in_(select(BLSession.sessionId).where(scope.sessions())),
        )
        .subquery()
    )
    sessions = select(func.count()).where(before.c.personId == Person.personId).scalar_subquery()
    last = select(func.max(before.c.startDate)).where(before.c.personId == Person.personId).scalar_subquery()
    return (
        query.join(SessionHasPerson, SessionHasPerson.personId == Person.personId)
        .join(BLSession, BLSession.sessionId == SessionHasPerson.sessionId)
        .where(and_(SessionHasPerson.sessionId == session_id, scope.sessions()))
        .add_columns(
            sessions.label("sessions"), last.label("lastSession"), SessionHasPerson.role, SessionHasPerson.remote
        )
    )


async def get_persons(
    db: ReadSession,
    scope: Scope,
    page: Page,
    *,
    proposal: str | None = None,
    sessionId: int | None = None,
    show_all: bool = False,
) -> tuple[int, list[dict[str, Any]]]:
    """People with a login, by id: those the caller reaches (everyone for ``show_all``), on ``proposal``, on the
    session ``sessionId`` (with py-ispyb's ``_metadata``)."""
    query = select(Person.personId, Person.givenName, Person.familyName).where(Person.login.is_not(None))
    if not (show_all or scope.all_proposals):
        query = query.where(_visible(scope))
    if proposal is not None:
        query = query.where(_on_proposal(proposal))
    if sessionId is not None:
        query = _on_session(query, scope, sessionId)
    total, rows = await paged(db, query.order_by(Person.personId), page)
    keys = ("sessions", "lastSession", "role", "remote")
    return total, [
        {**{k: v for k, v in r.items() if k not in keys}, "_metadata": {k: r[k] for k in keys} if sessionId else None}
        for r in rows
    ]
