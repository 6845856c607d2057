"""Shipments, the dewars they hold and the containers (pucks, plates) inside those; the dewar registry of
facility codes and each dewar's transport history."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class Shipping(Base):
    __tablename__ = "Shipping"

    shippingId: Mapped[int] = mapped_column(primary_key=True)
    proposalId: Mapped[int] = mapped_column(ForeignKey("Proposal.proposalId"))
    shippingName: Mapped[str | None]
    deliveryAgent_agentName: Mapped[str | None]
    deliveryAgent_shippingDate: Mapped[date | None] = mapped_column(Date)
    deliveryAgent_deliveryDate: Mapped[date | None] = mapped_column(Date)
    deliveryAgent_agentCode: Mapped[str | None]
    deliveryAgent_flightCode: Mapped[str | None]
    shippingStatus: Mapped[str | None]
    bltimeStamp: Mapped[datetime | None]
    laboratoryId: Mapped[int | None]
    isStorageShipping: Mapped[bool | None]
    creationDate: Mapped[datetime | None]
    comments: Mapped[str | None]
    sendingLabContactId: Mapped[int | None] = mapped_column(ForeignKey("LabContact.labContactId"))
    returnLabContactId: Mapped[int | None] = mapped_column(ForeignKey("LabContact.labContactId"))
    returnCourier: Mapped[str | None]
    dateOfShippingToUser: Mapped[datetime | None]
    shippingType: Mapped[str | None]
    safetyLevel: Mapped[str | None]


class ShippingHasSession(Base):
    __tablename__ = "ShippingHasSession"

    shippingId: Mapped[int] = mapped_column(ForeignKey("Shipping.shippingId"), primary_key=True)
    sessionId: Mapped[int] = mapped_column(ForeignKey("BLSession.sessionId"), primary_key=True)


class Dewar(Base):
    __tablename__ = "Dewar"

    dewarId: Mapped[int] = mapped_column(primary_key=True)
    shippingId: Mapped[int | None] = mapped_column(ForeignKey("Shipping.shippingId"))
    code: Mapped[str | None]
    comments: Mapped[str | None]
    storageLocation: Mapped[str | None]
    dewarStatus: Mapped[str | None]
    bltimeStamp: Mapped[datetime | None]
    isStorageDewar: Mapped[bool | None]
    barCode: Mapped[str | None] = mapped_column(unique=True)
    firstExperimentId: Mapped[int | None]
    customsValue: Mapped[int | None]
    transportValue: Mapped[int | None]
    trackingNumberToSynchrotron: Mapped[str | None]
    trackingNumberFromSynchrotron: Mapped[str | None]
    facilityCode: Mapped[str | None]
    type: Mapped[str] = mapped_column(default="Dewar")


class Container(Base):
    __tablename__ = "Container"

    containerId: Mapped[int] = mapped_column(primary_key=True)
    dewarId: Mapped[int | None] = mapped_column(ForeignKey("Dewar.dewarId"))
    code: Mapped[str | None]
    containerType: Mapped[str | None]
    capacity: Mapped[int | None]
    beamlineLocation: Mapped[str | None]
    sampleChangerLocation: Mapped[str | None]
    containerStatus: Mapped[str | None]
    bltimeStamp: Mapped[datetime | None]
    barcode: Mapped[str | None] = mapped_column(unique=True)
    sessionId: Mapped[int | None] = mapped_column(ForeignKey("BLSession.sessionId"))
    ownerId: Mapped[int | None] = mapped_column(ForeignKey("Person.personId"))
    requestedReturn: Mapped[bool | None]
    comments: Mapped[str | None]
    experimentType: Mapped[str | None]
    storageTemperature: Mapped[float | None]


class DewarTransportHistory(Base):
    __tablename__ = "DewarTransportHistory"

    DewarTransportHistoryId: Mapped[int] = mapped_column(primary_key=True)
    dewarId: Mapped[int | None] = mapped_column(ForeignKey("Dewar.dewarId"))
    dewarStatus: Mapped[str]
    storageLocation: Mapped[str | None]
    arrivalDate: Mapped[datetime | None]


class DewarRegistry(Base):
    """A physical dewar known to the facility by its facility code (e.g. ``DLS-MX-0001``)."""

    __tablename__ = "DewarRegistry"

    dewarRegistryId: Mapped[int] = mapped_column(primary_key=True)
    facilityCode: Mapped[str] = mapped_column(unique=True)
    proposalId: Mapped[int | None] = mapped_column(ForeignKey("Proposal.proposalId"))
    labContactId: Mapped[int | None] = mapped_column(ForeignKey("LabContact.labContactId"))
    purchaseDate: Mapped[datetime | None]
    bltimestamp: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class DewarRegistryHasProposal(Base):
    __tablename__ = "DewarRegistry_has_Proposal"

    dewarRegistryHasProposalId: Mapped[int] = mapped_column(primary_key=True)
    dewarRegistryId: Mapped[int | None] = mapped_column(ForeignKey("DewarRegistry.dewarRegistryId"))
    proposalId: Mapped[int | None] = mapped_column(ForeignKey("Proposal.proposalId"))
    personId: Mapped[int | None] = mapped_column(ForeignKey("Person.personId"))
    recordTimestamp: Mapped[datetime | None] = mapped_column(server_default=func.current_timestamp())
    labContactId: Mapped[int | None] = mapped_column(ForeignKey("LabContact.labContactId"))
