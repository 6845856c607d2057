"""Who sees what: the one place where proposal scoping becomes a SQL filter.

In order: ``all_proposals`` sees everything; a beamline-group permission sees the sessions on its beamlines
(and so their proposals); everyone sees the proposals they are on (ProposalHasPerson) with their sessions, and
the sessions they are on (Session_has_Person) with those sessions' proposals.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, or_, select, true

from relational.models import BLSession, ProposalHasPerson, SessionHasPerson


@dataclass(frozen=True)
class Scope:
    """The reach of one caller."""

    person_id: int
    all_proposals: bool = False
    beamlines: frozenset[str] = frozenset()

    @property
    def is_staff(self) -> bool:
        """``all_proposals``, or a beamline group's permission."""
        return self.all_proposals or bool(self.beamlines)

    def _own_proposals(self) -> Select[int]:
        return select(ProposalHasPerson.proposalId).where(ProposalHasPerson.personId == self.person_id)

    def _own_sessions(self) -> Select[int]:
        return select(SessionHasPerson.sessionId).where(SessionHasPerson.personId == self.person_id)

    def sessions(self) -> ColumnElement[bool]:
        """Filter on ``BLSession`` rows (join ``BLSession`` to use it for what hangs off a session)."""
        if self.all_proposals:
            return true()
        conditions = [
            BLSession.proposalId.in_(self._own_proposals()),
            BLSession.sessionId.in_(self._own_sessions()),
        ]
        if self.beamlines:
            conditions.append(BLSession.beamLineName.in_(sorted(self.beamlines)))
        return or_(*conditions)

    def whole_proposals(self) -> Select[int]:
        """Proposals the caller reaches as a whole (a member: ProposalHasPerson), as a subquery of ids."""
        return self._own_proposals()

    def single_sessions(self) -> ColumnElement[bool]:
        """Filter on ``BLSession`` rows the caller reaches one by one, outside a whole proposal: sessions they are
        on (Session_has_Person) and sessions on their beamline groups' beamlines."""
        conditions = [BLSession.sessionId.in_(self._own_sessions())]
        if self.beamlines:
            conditions.append(BLSession.beamLineName.in_(sorted(self.beamlines)))
        return or_(*conditions)

    def proposals(self, proposal_id: SQLColumnExpression[int | None]) -> ColumnElement[bool]:
        """Filter on a proposal id column: proposals the caller is on, or has a visible session of."""
        if self.all_proposals:
            return true()
        via_sessions = [BLSession.sessionId.in_(self._own_sessions())]
        if self.beamlines:
            via_sessions.append(BLSession.beamLineName.in_(sorted(self.beamlines)))
        return or_(
            proposal_id.in_(self._own_proposals()),
            proposal_id.in_(select(BLSession.proposalId).where(or_(*via_sessions))),
        )
