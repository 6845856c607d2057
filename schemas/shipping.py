"""Shipments, dewars and containers: what the API reads and what it accepts."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import ApiModel

#: ``Shipping.deliveryAgent_agentName`` of a hand-carried shipment (a courier's name otherwise)
HAND_CARRIED = "hand-carried"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45, pattern=r"^[\w.:/-]+$")]


class DeliveryMode(StrEnum):
    courier = "courier"
    hand_carried = HAND_CARRIED


class SafetyLevel(StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"


def delivery_mode(agent_name: str | None) -> DeliveryMode | None:
    """How a stored shipment travels, read from ``deliveryAgent_agentName``."""
    if agent_name is None or not agent_name.strip():
        return None
    return DeliveryMode.hand_carried if agent_name.strip().lower() == HAND_CARRIED else DeliveryMode.courier


def delivery_problems(values: dict[str, Any]) -> list[str]:
    """What a shipment's delivery fields lack for its mode (empty when they are complete)."""
    mode = values.get("deliveryMode")
    needed: dict[str, str] = {}
    if mode == DeliveryMode.courier:
        needed = {
            "deliveryAgent_agentName": "the courier's name",
            "deliveryAgent_flightCode": "the tracking number",
            "deliveryAgent_shippingDate": "the shipping date",
        }
    elif mode == DeliveryMode.hand_carried:
        needed = {
            "sendingLabContactId": "who brings it (a lab contact of the proposal)",
            "deliveryAgent_deliveryDate": "the day it arrives",
        }
    problems = [f"a {mode} shipment needs `{key}`: {what}" for key, what in needed.items() if not values.get(key)]
    if mode == DeliveryMode.courier and str(values.get("deliveryAgent_agentName", "")).lower() == HAND_CARRIED:
        problems.append(f"`{HAND_CARRIED}` is not a courier's name")
    return problems


class DeliveryFields(BaseModel):
    deliveryMode: DeliveryMode | None = Field(None, description="courier or hand-carried")
    deliveryAgent_agentName: Name | None = Field(None, description="Courier company (courier)")
    deliveryAgent_flightCode: Name | None = Field(None, description="Tracking number (courier)")
    deliveryAgent_shippingDate: date | None = Field(None, description="Day it is sent (courier)")
    deliveryAgent_deliveryDate: date | None = Field(None, description="Day it arrives (hand-carried: required)")
    sendingLabContactId: int | None = Field(None, ge=1, description="Sender; for hand-carried, who brings it")
    returnLabContactId: int | None = Field(None, ge=1)


class ShippingCreate(DeliveryFields):
    model_config = ConfigDict(extra="forbid")

    proposalId: int = Field(ge=1)
    shippingName: Name
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None
    safetyLevel: SafetyLevel = SafetyLevel.GREEN

    @model_validator(mode="after")
    def _delivery(self) -> "ShippingCreate":
        if problems := delivery_problems(self.model_dump()):
            raise ValueError("; ".join(problems))
        return self


class ShippingUpdate(DeliveryFields):
    """Only the fields given change; the delivery fields are checked against the merged result."""

    model_config = ConfigDict(extra="forbid")

    shippingName: Name | None = None
    shippingStatus: Name | None = None
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None
    safetyLevel: SafetyLevel | None = None


class ShippingCounts(ApiModel):
    """A shipment's, dewar's or container's contents counted (named apart from the user-office sync's `Counts`)."""

    dewars: int | None = None
    containers: int | None = None
    samples: int


class SampleBrief(ApiModel):
    blSampleId: int
    name: str | None
    location: str | None
    code: str | None
    comments: str | None
    proteinId: int | None
    acronym: str | None
    experimentKind: str | None


class ContainerFields(ApiModel):
    containerId: int
    code: str | None
    barcode: str | None
    containerType: str | None
    capacity: int | None
    metadata: ShippingCounts = Field(alias="_metadata")


class ContainerBrief(ContainerFields):
    BLSample: list[SampleBrief] = []


class DewarFields(ApiModel):
    dewarId: int
    code: str | None
    barCode: str | None
    facilityCode: str | None
    dewarStatus: str | None
    storageLocation: str | None
    type: str | None
    metadata: ShippingCounts = Field(alias="_metadata")


class DewarBrief(DewarFields):
    Container: list[ContainerBrief] = []


class Shipping(ApiModel):
    shippingId: int
    proposalId: int
    proposal: str
    shippingName: str | None
    shippingStatus: str | None
    comments: str | None
    safetyLevel: str | None
    creationDate: datetime | None
    bltimeStamp: datetime | None = Field(
        description="When the row was written (the UI's Created column); `creationDate` where a tool left it empty"
    )
    deliveryMode: DeliveryMode | None
    deliveryAgent_agentName: str | None
    deliveryAgent_flightCode: str | None
    deliveryAgent_shippingDate: date | None
    deliveryAgent_deliveryDate: date | None
    sendingLabContactId: int | None
    returnLabContactId: int | None
    metadata: ShippingCounts = Field(alias="_metadata")
    Dewar: list[DewarBrief] | None = Field(None, description="With ?include=contents: dewars → containers → samples")


class DewarType(StrEnum):
    Dewar = "Dewar"
    Toolbox = "Toolbox"


class DewarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shippingId: int = Field(ge=1)
    code: Name
    barCode: Code | None = Field(None, description="Unique across the facility")
    facilityCode: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="A registered dewar (see /dewar-registry) linked to the proposal"
    )
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None
    type: DewarType = DewarType.Dewar
    trackingNumberToSynchrotron: Annotated[str, StringConstraints(max_length=30)] | None = None


class DewarUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Name | None = None
    barCode: Code | None = None
    facilityCode: Annotated[str, StringConstraints(max_length=20)] | None = None
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None
    trackingNumberToSynchrotron: Annotated[str, StringConstraints(max_length=30)] | None = None
    trackingNumberFromSynchrotron: Annotated[str, StringConstraints(max_length=30)] | None = None


class Dewar(DewarFields):
    shippingId: int | None
    proposalId: int
    shippingName: str | None
    comments: str | None
    trackingNumberToSynchrotron: str | None
    trackingNumberFromSynchrotron: str | None


class ContainerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dewarId: int = Field(ge=1)
    code: Name
    containerType: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    barcode: Code | None = Field(None, description="Unique across the facility")
    capacity: int | None = Field(None, ge=1, le=10_000, description="Defaults to the container type's")
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None


class ContainerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Name | None = None
    barcode: Code | None = None
    comments: Annotated[str, StringConstraints(max_length=255)] | None = None
    containerStatus: Name | None = None
    sampleChangerLocation: Annotated[str, StringConstraints(max_length=20)] | None = None
    beamlineLocation: Annotated[str, StringConstraints(max_length=20)] | None = None


class Container(ContainerFields):
    dewarId: int | None
    proposalId: int
    containerStatus: str | None
    sampleChangerLocation: str | None
    beamlineLocation: str | None
    comments: str | None


class DewarStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dewarStatus: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45)]
    storageLocation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=45)] = ""
    arrivalDate: datetime | None = Field(None, description="When it happened; now if absent")


class DewarHistoryEntry(ApiModel):
    DewarTransportHistoryId: int
    dewarId: int
    dewarStatus: str
    storageLocation: str | None
    arrivalDate: datetime | None


class RegistryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facilityCode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    proposalIds: list[Annotated[int, Field(ge=1)]] = Field([], description="Proposals the dewar serves")
    purchaseDate: datetime | None = None


class RegistryEntry(ApiModel):
    dewarRegistryId: int
    facilityCode: str
    purchaseDate: datetime | None
    bltimestamp: datetime | None
    proposals: list[str]
