"""Proposals, beamtime sessions and who belongs to them."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class Proposal(Base):
    __tablename__ = "Proposal"

    proposalId: Mapped[int] = mapped_column(primary_key=True)
    personId: Mapped[int] = mapped_column(ForeignKey("Person.personId"), default=0)
    title: Mapped[str | None]
    proposalCode: Mapped[str | None]
    proposalNumber: Mapped[str | None]
    proposalType: Mapped[str | None]
    bltimeStamp: Mapped[datetime | None]
    externalId: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    state: Mapped[str | None]


class ProposalHasPerson(Base):
    __tablename__ = "ProposalHasPerson"

    proposalHasPersonId: Mapped[int] = mapped_column(primary_key=True)
    proposalId: Mapped[int] = mapped_column(ForeignKey("Proposal.proposalId"))
    personId: Mapped[int] = mapped_column(ForeignKey("Person.personId"))


class BLSession(Base):
    __tablename__ = "BLSession"

    sessionId: Mapped[int] = mapped_column(primary_key=True)
    beamLineSetupId: Mapped[int | None]
    proposalId: Mapped[int] = mapped_column(ForeignKey("Proposal.proposalId"))
    startDate: Mapped[datetime | None]
    endDate: Mapped[datetime | None]
    beamLineName: Mapped[str | None]
    scheduled: Mapped[bool | None]
    nbShifts: Mapped[int | None]
    comments: Mapped[str | None]
    beamLineOperator: Mapped[str | None]
    visit_number: Mapped[int | None]
    bltimeStamp: Mapped[datetime | None]
    usedFlag: Mapped[bool | None]
    externalId: Mapped[bytes | None] = mapped_column(LargeBinary(16))


class SessionHasPerson(Base):
    __tablename__ = "Session_has_Person"

    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"), primary_key=True)
    personId: Mapped[int] = mapped_column(ForeignKey("Person.personId"), primary_key=True)
    role: Mapped[str | None]
    remote: Mapped[bool | None]


class SessionType(Base):
    __tablename__ = "SessionType"

    sessionTypeId: Mapped[int] = mapped_column(primary_key=True)
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"))
    typeName: Mapped[str]
