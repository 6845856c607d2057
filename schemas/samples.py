"""Samples, their crystal and desired protocol, proteins and lab contacts."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import ApiModel
from schemas.lenient import Lenient

#: what beamline software accepts in a sample name (ISPyB's usual rule); 45 is the shorter flavour's column
SampleName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45, pattern=r"^[\w-]+$")]
Acronym = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45, pattern=r"^[\w.+-]+$")]
SpaceGroup = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20, pattern=r"^[A-Za-z0-9 ()/_-]+$")]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Length = Annotated[float, Field(gt=0, le=10_000)]
Angle = Annotated[float, Field(gt=0, lt=180)]
#: a row id: ISPyB's ids are unsigned 4-byte integers (a larger one would overflow SQLite's 8-byte INTEGER)
RowId = Annotated[int, Field(ge=1, le=2**32 - 1)]


class Protocol(BaseModel):
    """The experiment a user would like (``DiffractionPlan``): a preference for staff, not an instruction."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    experimentKind: str | None = Field(None, max_length=45, description="e.g. OSC, SAD, MAD; the database's list")
    requiredResolution: float | None = Field(None, gt=0, le=50, description="Å")
    aimedResolution: float | None = Field(None, gt=0, le=50, description="Å")
    requiredCompleteness: float | None = Field(None, gt=0, le=100, description="%")
    requiredMultiplicity: float | None = Field(None, gt=0, le=1000)
    anomalousScatterer: str | None = Field(None, pattern=r"^[A-Z][a-z]?$", description="Element symbol, e.g. Se")
    forcedSpaceGroup: SpaceGroup | None = None
    radiationSensitivity: float | None = Field(None, ge=0, le=10)
    numberOfPositions: int | None = Field(None, ge=1, le=1000)
    comments: Annotated[str, StringConstraints(max_length=1024)] | None = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class Cell(BaseModel):
    """A crystal's space group and unit cell, as a user gives them."""

    spaceGroup: SpaceGroup | None = None
    cell_a: Length | None = None
    cell_b: Length | None = None
    cell_c: Length | None = None
    cell_alpha: Angle | None = None
    cell_beta: Angle | None = None
    cell_gamma: Angle | None = None


class ProteinRef(BaseModel):
    """A crystal's protein as py-ispyb-ui sends it back (a sample's ``Crystal.Protein``): only its id is read."""

    model_config = ConfigDict(extra="ignore")

    proteinId: RowId


class CrystalIn(Cell):
    """The new sample's crystal: its protein by ``proteinId`` or, as py-ispyb-ui sends the crystal it picked,
    ``Protein.proteinId``; the sample always gets a crystal of its own with these cell values."""

    model_config = ConfigDict(extra="forbid")

    proteinId: RowId | None = None
    crystalId: RowId | None = Field(None, exclude=True, description="Ignored: the crystal the UI picked")
    space_group: SpaceGroup | None = Field(None, exclude=True, description="Ignored: `spaceGroup` is read")
    Protein: ProteinRef | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _protein(self) -> "CrystalIn":
        given = {self.proteinId, self.Protein.proteinId if self.Protein else None} - {None}
        if len(given) != 1:
            raise ValueError("give the crystal's protein once: `proteinId` or `Protein.proteinId`")
        (self.proteinId,) = given
        return self

    def protein(self) -> int:
        """The protein's id (the validator made sure there is one)."""
        assert self.proteinId is not None
        return self.proteinId


class SampleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SampleName
    containerId: RowId | None = None
    location: int | None = Field(None, ge=1, le=10_000, description="Position in the container")
    code: Annotated[str, StringConstraints(max_length=45)] | None = Field(None, description="Pin barcode")
    comments: Annotated[str, StringConstraints(max_length=1024)] | None = None
    Crystal: CrystalIn
    DiffractionPlan: Protocol | None = None

    @model_validator(mode="after")
    def _placed(self) -> "SampleCreate":
        if (self.containerId is None) != (self.location is None):
            raise ValueError("give both `containerId` and `location`, or neither")
        return self


class ProtocolEcho(Protocol):
    """A sample's protocol as py-ispyb-ui sends it back: its ``diffractionPlanId`` is ignored (the sample's own
    protocol is the one changed)."""

    diffractionPlanId: RowId | None = Field(None, exclude=True, description="Ignored")


class SampleUpdate(Lenient):
    """A sample's changes; MXCuBE's sample dict too (``blSampleId`` repeated, its centring position; keys without
    a column are ignored and reported)."""

    blSampleId: RowId | None = Field(None, description="If given, the sample's id in the path")
    name: SampleName | None = None
    containerId: RowId | None = None
    location: int | None = Field(None, ge=1, le=10_000)
    code: Annotated[str, StringConstraints(max_length=45)] | None = None
    comments: Annotated[str, StringConstraints(max_length=1024)] | None = None
    lastKnownCenteringPosition: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, validation_alias=AliasChoices("lastKnownCenteringPosition", "lastKnownCentringPosition")
    )
    DiffractionPlan: ProtocolEcho | None = None


class SampleProtein(ApiModel):
    proteinId: int
    proposalId: int
    name: str | None
    acronym: str | None


class SampleCrystal(ApiModel):
    crystalId: int
    spaceGroup: str | None
    space_group: str | None = Field(description="``spaceGroup`` again, as MXCuBE reads it")
    cell_a: float | None
    cell_b: float | None
    cell_c: float | None
    cell_alpha: float | None
    cell_beta: float | None
    cell_gamma: float | None
    Protein: SampleProtein


class SampleContainer(ApiModel):
    """The sample's container; every field null when it is in none (MXCuBE needs the object)."""

    containerId: int | None
    code: str | None
    barcode: str | None
    sampleChangerLocation: str | None
    beamlineLocation: str | None


class SamplePlan(Protocol):
    """The sample's desired protocol; every field null when it has none (MXCuBE needs the object)."""

    diffractionPlanId: int | None


class SampleStatus(StrEnum):
    """py-ispyb's sample status filter (what the sample went through)."""

    sample_action = "Sample Action"
    data_collected = "Data Collected"
    auto_integrated = "Auto Integrated"


class SampleMetaData(ApiModel):
    datacollections: int = Field(description="Data collections of this sample")
    types: list[str] = Field(description="Their experiment types")
    autoIntegrations: int
    integratedResolution: float | None = Field(description="Best (lowest) resolution limit of its auto-processing")
    proposal: str


class Sample(ApiModel):
    blSampleId: int
    name: str | None
    location: str | None = Field(description="Position in its container")
    containerId: int | None
    code: str | None
    comments: str | None
    Crystal: SampleCrystal
    Container: SampleContainer
    DiffractionPlan: SamplePlan
    metadata: SampleMetaData = Field(alias="_metadata")


class ProteinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposalId: RowId
    acronym: Acronym
    name: Text255 | None = None
    sequence: Annotated[str, StringConstraints(max_length=100_000, pattern=r"^[A-Za-z*\s]*$")] | None = None
    molecularMass: float | None = Field(None, gt=0)


class ProteinUpdate(BaseModel):
    """A protein's changes (its proposal stays); the acronym stays unique within the proposal."""

    model_config = ConfigDict(extra="forbid")

    acronym: Acronym | None = None
    name: Text255 | None = None
    sequence: Annotated[str, StringConstraints(max_length=100_000, pattern=r"^[A-Za-z*\s]*$")] | None = None
    molecularMass: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _kept(self) -> "ProteinUpdate":
        if "acronym" in self.model_fields_set and self.acronym is None:
            raise ValueError("a protein keeps an `acronym`")
        return self


class Protein(ApiModel):
    proteinId: int
    proposalId: int
    proposal: str
    acronym: str | None
    name: str | None
    molecularMass: float | None
    isCreatedBySampleSheet: bool | None
    metadata: dict[str, int] = Field(alias="_metadata", description="samples")


Filled45 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45)]


class LaboratoryIn(BaseModel):
    """A new lab contact's laboratory (py-ispyb's ``Person.Laboratory``). ``postcode`` and ``laboratoryExtPk``
    are stored where the database has a column for them (the DLS flavour has both, the official one the external
    key); elsewhere a value for them is refused (422)."""

    model_config = ConfigDict(extra="forbid")

    name: Filled45
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    city: Filled45
    country: Filled45
    url: Annotated[str, StringConstraints(max_length=255)] | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=15)] | None = None
    laboratoryExtPk: int | None = Field(None, ge=0, le=2**31 - 1, description="The user portal's id")


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    givenName: Filled45
    familyName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    emailAddress: Annotated[str, StringConstraints(max_length=60, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phoneNumber: Annotated[str, StringConstraints(max_length=45)] | None = None
    Laboratory: LaboratoryIn | None = None


class LabContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposalId: RowId
    cardName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    personId: RowId | None = Field(None, description="An existing person; or give `Person`")
    Person: PersonIn | None = None
    defaultCourrierCompany: Annotated[str, StringConstraints(max_length=45)] | None = None
    courierAccount: Annotated[str, StringConstraints(max_length=45)] | None = None
    billingReference: Annotated[str, StringConstraints(max_length=45)] | None = None
    dewarAvgCustomsValue: int | None = Field(None, ge=0, le=2**31 - 1, description="€")
    dewarAvgTransportValue: int | None = Field(None, ge=0, le=2**31 - 1, description="€")

    @model_validator(mode="after")
    def _one_person(self) -> "LabContactCreate":
        if (self.personId is None) == (self.Person is None):
            raise ValueError("give exactly one of `personId` and `Person`")
        return self


class LaboratoryUpdate(BaseModel):
    """A lab contact's laboratory's changes (its external key is the user portal's)."""

    model_config = ConfigDict(extra="forbid")

    name: Filled45 | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] | None = None
    city: Filled45 | None = None
    country: Filled45 | None = None
    url: Annotated[str, StringConstraints(max_length=255)] | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=15)] | None = None


class PersonUpdate(BaseModel):
    """A lab contact's person's changes: how to reach them, and their laboratory (their name stays)."""

    model_config = ConfigDict(extra="forbid")

    emailAddress: Annotated[str, StringConstraints(max_length=60, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phoneNumber: Annotated[str, StringConstraints(max_length=45)] | None = None
    Laboratory: LaboratoryUpdate | None = None


class LabContactUpdate(BaseModel):
    """A lab contact's changes (py-ispyb's: its proposal, its person's name and laboratory key stay)."""

    model_config = ConfigDict(extra="forbid")

    cardName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    defaultCourrierCompany: Annotated[str, StringConstraints(max_length=45)] | None = None
    courierAccount: Annotated[str, StringConstraints(max_length=45)] | None = None
    billingReference: Annotated[str, StringConstraints(max_length=45)] | None = None
    dewarAvgCustomsValue: int | None = Field(None, ge=0, le=2**31 - 1, description="€")
    dewarAvgTransportValue: int | None = Field(None, ge=0, le=2**31 - 1, description="€")
    Person: PersonUpdate | None = None

    @model_validator(mode="after")
    def _kept(self) -> "LabContactUpdate":
        lab = self.Person.Laboratory if self.Person else None
        own = ("cardName", "dewarAvgCustomsValue", "dewarAvgTransportValue")  # NOT NULL columns
        kept = [(f, self) for f in own] + ([(f, lab) for f in ("name", "address", "city", "country")] if lab else [])
        if cleared := [name for name, model in kept if name in model.model_fields_set and getattr(model, name) is None]:
            raise ValueError(f"these stay filled: {', '.join(cleared)}")
        return self


class LabContactLaboratory(ApiModel):
    laboratoryId: int
    name: str | None
    address: str | None
    city: str | None
    country: str | None
    url: str | None
    postcode: str | None = Field(description="null where the database has no postcode column")
    laboratoryExtPk: int | None = Field(description="null where the database has no such column")


class LabContactPerson(ApiModel):
    personId: int
    givenName: str | None
    familyName: str | None
    emailAddress: str | None
    phoneNumber: str | None
    Laboratory: LabContactLaboratory | None


class LabContact(ApiModel):
    labContactId: int
    proposalId: int
    cardName: str
    defaultCourrierCompany: str | None
    courierAccount: str | None
    billingReference: str | None
    dewarAvgCustomsValue: int | None
    dewarAvgTransportValue: int | None
    recordTimeStamp: datetime | None = None
    Person: LabContactPerson
