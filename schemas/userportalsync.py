"""py-ispyb's user-office sync document (``UserPortalProposalSync``) and what a sync answers.

Field names are py-ispyb's, which are ISPyB's column names (its models are generated from the official schema's
tables). Widths and ranges are the columns' (the same in both flavours); keys no model declares are kept aside and
reported (``Lenient``), as py-ispyb ignores them. ``externalId``s are integers, stored as ``binary(16)``
big-endian like py-ispyb does.
"""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, model_validator

from schemas.event_writes import Float32, LocalTime, LongText, Text45, Text255, Timestamp
from schemas.lenient import Lenient

#: an ``int(10) unsigned`` column's value, and an ``int(11)`` one's
UInt = Annotated[int, Field(ge=0, le=2**32 - 1)]
Int = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
#: a ``tinyint unsigned`` column's value
UTinyInt = Annotated[int, Field(ge=0, le=255)]
#: an id of the user office, kept in a ``binary(16)`` column
ExternalId = Annotated[int, Field(ge=0, le=2**128 - 1)]
Text2 = Annotated[str, Field(max_length=2)]
Text10 = Annotated[str, Field(max_length=10)]
Text60 = Annotated[str, Field(max_length=60)]
Text100 = Annotated[str, Field(max_length=100)]
Text200 = Annotated[str, Field(max_length=200)]
Text1024 = Annotated[str, Field(max_length=1024)]
Text2000 = Annotated[str, Field(max_length=2000)]
#: a text that names a row (matched on), so never empty
Key40 = Annotated[str, Field(min_length=1, max_length=40)]
Key45 = Annotated[str, Field(min_length=1, max_length=45)]


def _whole_second(moment: datetime | None) -> datetime | None:
    """ISPyB's DATETIME and TIMESTAMP columns keep whole seconds: a fraction would read back as a change."""
    return None if moment is None else moment.replace(microsecond=0)


Moment = Annotated[LocalTime, AfterValidator(_whole_second)]
StampMoment = Annotated[Timestamp, AfterValidator(_whole_second)]

SessionRole = Literal[
    "Local Contact",
    "Local Contact 2",
    "Staff",
    "Team Leader",
    "Co-Investigator",
    "Principal Investigator",
    "Alternate Contact",
]
#: membership links that ``prune`` may remove when the document no longer lists them
Prunable = Literal["proposalMembers", "sessionMembers"]


class UPLaboratory(Lenient):
    """A person's laboratory: matched by ``laboratoryExtPk``, then name, city and country."""

    name: Key45
    address: Text255
    city: Key45
    country: Text45
    url: Text255 | None = None
    laboratoryExtPk: Int | None = None


class UPPerson(Lenient):
    """A person, matched by ``login``, then ``externalId`` (one of them is required)."""

    siteId: Int | None = None
    personUUID: Text45 | None = None
    familyName: Text100 | None = None
    givenName: Text45 | None = None
    title: Text45 | None = None
    emailAddress: Text60 | None = None
    phoneNumber: Text45 | None = None
    login: Key45 | None = None
    faxNumber: Text45 | None = None
    externalId: ExternalId | None = None
    laboratory: UPLaboratory | None = None

    @model_validator(mode="after")
    def _login_or_external_id(self) -> Self:
        if self.login is None and self.externalId is None:
            raise ValueError("either login or externalId is required for a Person entity")
        return self


class PersonSessionOptions(Lenient):
    """What a ``Session_has_Person`` row says of its person."""

    role: SessionRole | None = None
    remote: bool | None = None


class UPSessionPerson(UPPerson):
    session_options: PersonSessionOptions | None = None


class UPLabContact(Lenient):
    """A lab contact of the proposal, matched by ``cardName`` within it."""

    cardName: Key40
    defaultCourrierCompany: Text45 | None = None
    courierAccount: Text45 | None = None
    billingReference: Text45 | None = None
    dewarAvgCustomsValue: UInt | None = None
    dewarAvgTransportValue: UInt | None = None
    person: UPPerson


class UPProposal(Lenient):
    """The proposal, matched by ``externalId``, then code and number; its first person is its principal."""

    title: Text200 | None = None
    proposalCode: Key45
    proposalNumber: Key45
    proposalType: Text2 | None = None
    state: Literal["Open", "Closed", "Cancelled"] | None = None
    externalId: ExternalId | None = None
    persons: Annotated[list[UPPerson], Field(min_length=1)]
    labcontacts: list[UPLabContact] | None = None


class UPSession(Lenient):
    """A session of the proposal, matched by ``externalId``, then ``expSessionPk`` (Diamond's schema: then
    ``visit_number``)."""

    expSessionPk: UInt | None = None
    externalId: ExternalId | None = None
    projectCode: Text45 | None = None
    startDate: Moment = None
    endDate: Moment = None
    beamLineName: Text45 | None = None
    scheduled: bool | None = None
    nbShifts: UInt | None = None
    comments: Text2000 | None = None
    beamLineOperator: Text255 | None = None
    visit_number: UInt | None = None
    usedFlag: bool | None = None
    sessionTitle: Text255 | None = None
    structureDeterminations: Float32 | None = None
    dewarTransport: Float32 | None = None
    databackupFrance: Float32 | None = None
    databackupEurope: Float32 | None = None
    operatorSiteNumber: Text10 | None = None
    lastUpdate: StampMoment = None
    protectedData: Text1024 | None = None
    nbReimbDewars: Int | None = None
    persons: list[UPSessionPerson] | None = None

    @model_validator(mode="after")
    def _matchable(self) -> Self:
        if self.expSessionPk is None and self.externalId is None:
            raise ValueError("either expSessionPk or externalId is required for a Session entity")
        return self


class UPProtein(Lenient):
    """A protein of the proposal, matched by ``externalId``, then ``acronym`` within it."""

    name: Text255 | None = None
    acronym: Key45
    description: LongText | None = None
    hazardGroup: UTinyInt | None = None
    containmentLevel: UTinyInt | None = None
    safetyLevel: Literal["GREEN", "YELLOW", "RED"] | None = None
    molecularMass: Annotated[float, Field(allow_inf_nan=False)] | None = None
    proteinType: Text45 | None = None
    sequence: LongText | None = None
    isCreatedBySampleSheet: bool | None = None
    externalId: ExternalId | None = None
    person: UPPerson


class UserPortalProposalSync(Lenient):
    """py-ispyb's sync document: a proposal, its sessions and proteins. ``prune`` (our extension, which py-ispyb
    ignores) names the membership links to remove when the document no longer lists them."""

    proposal: UPProposal
    sessions: list[UPSession] | None = None
    proteins: list[UPProtein] | None = None
    prune: list[Prunable] = Field(
        default_factory=list,
        description=(
            "Extension: `proposalMembers` removes the proposal's ProposalHasPerson links to persons absent from "
            "`proposal.persons`; `sessionMembers` removes, for each session of the document that lists `persons`, "
            "the Session_has_Person links to persons absent from that list. Person, session and protein rows are "
            "never deleted."
        ),
    )
    _unstored: list[str] = PrivateAttr(default_factory=list)

    def unstored(self, paths: list[str]) -> None:
        """Report ``paths`` (given, but this database has no column for them) among the ignored keys."""
        self._unstored = paths

    def ignored(self, path: str = "") -> list[str]:
        prefix = f"{path}." if path else ""
        return sorted(super().ignored(path) + [prefix + name for name in self._unstored])


class Counts(BaseModel):
    """Rows of one table: created, updated (some column changed), unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class LinkCounts(BaseModel):
    """Membership links: added, updated (role or remote changed), removed (``prune``), unchanged."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


class SyncReport(BaseModel):
    """What a sync changed (or, in a dry run, would change)."""

    message: str
    #: the proposal's id (none in a dry run that would create it)
    proposalId: int | None
    changed: bool
    dryRun: bool
    persons: Counts
    laboratories: Counts
    proposal: Counts
    sessions: Counts
    labContacts: Counts
    proteins: Counts
    proposalMembers: LinkCounts
    sessionMembers: LinkCounts
    #: keys of the document no column took (unknown, or a column this database lacks), as JSON paths
    ignored: list[str] = Field(default_factory=list)
