"""People, laboratories and the groups and permissions that make staff."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class Laboratory(Base):
    __tablename__ = "Laboratory"

    laboratoryId: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None]
    address: Mapped[str | None]
    city: Mapped[str | None]
    country: Mapped[str | None]
    url: Mapped[str | None]
    organization: Mapped[str | None]


class Person(Base):
    __tablename__ = "Person"

    personId: Mapped[int] = mapped_column(primary_key=True)
    laboratoryId: Mapped[int | None] = mapped_column(ForeignKey("Laboratory.laboratoryId"))
    familyName: Mapped[str | None]
    givenName: Mapped[str | None]
    title: Mapped[str | None]
    emailAddress: Mapped[str | None]
    phoneNumber: Mapped[str | None]
    login: Mapped[str | None]


class LabContact(Base):
    __tablename__ = "LabContact"

    labContactId: Mapped[int] = mapped_column(primary_key=True)
    personId: Mapped[int] = mapped_column(ForeignKey("Person.personId"))
    cardName: Mapped[str]
    proposalId: Mapped[int] = mapped_column(ForeignKey("Proposal.proposalId"))
    defaultCourrierCompany: Mapped[str | None]
    courierAccount: Mapped[str | None]
    billingReference: Mapped[str | None]
    dewarAvgCustomsValue: Mapped[int] = mapped_column(default=0)
    dewarAvgTransportValue: Mapped[int] = mapped_column(default=0)


class UserGroup(Base):
    __tablename__ = "UserGroup"

    userGroupId: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Permission(Base):
    __tablename__ = "Permission"

    permissionId: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str]
    description: Mapped[str | None]


class UserGroupHasPerson(Base):
    __tablename__ = "UserGroup_has_Person"

    userGroupId: Mapped[int] = mapped_column(ForeignKey("UserGroup.userGroupId"), primary_key=True)
    personId: Mapped[int] = mapped_column(ForeignKey("Person.personId"), primary_key=True)


class UserGroupHasPermission(Base):
    __tablename__ = "UserGroup_has_Permission"

    userGroupId: Mapped[int] = mapped_column(ForeignKey("UserGroup.userGroupId"), primary_key=True)
    permissionId: Mapped[int] = mapped_column(ForeignKey("Permission.permissionId"), primary_key=True)
