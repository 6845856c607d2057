"""The beamline logbook at the edge: a new entry, a correction (the next version), an entry as shown, a page.

Bodies refuse unknown keys (``$``-keys included). The text's size in UTF-8 bytes and the kind are checked against
the settings by the service (``app/services/logbook.py``); everything else a body can get wrong is checked here.
"""

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.times import UtcDatetime, utc_now

#: the kinds every facility has; settings.logbook_kinds adds its own
BUILTIN_KINDS = ("note", "fault", "robot", "beam", "processing", "alarm")
#: the one kind a member of a session may write into it; the others are the beamline's (see the service)
NOTE = "note"
MAX_TAGS, MAX_TAG_CHARS = 20, 50
MAX_ATTACHMENTS, MAX_REFERENCE_CHARS = 20, 2000
#: how far ahead of the server's clock an entry's time may be (clocks drift; a logbook records what happened)
FUTURE_SLACK = timedelta(hours=1)
MAX_ID = 2**32 - 1
#: a document's id: a MongoDB ObjectId
OBJECT_ID_PATTERN = r"^[0-9a-f]{24}$"


def _printable(value: str) -> str:
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise ValueError("must not hold control or unassigned characters")
    return value


def _no_traversal(value: str) -> str:
    if any(part in (".", "..") for part in value.split("/")):
        raise ValueError("must not hold `.` or `..` segments")
    return value


def _web_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError("must be an http:// or https:// URL")
    return value


Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_CHARS), AfterValidator(_printable)
]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REFERENCE_CHARS), AfterValidator(_printable)]
#: an ISPyB id (unsigned 32-bit), a JSON integer: `true` or `"1"` are not ids
LinkId = Annotated[int | None, Field(ge=1, le=MAX_ID, strict=True)]
BeamLineName = Annotated[str, StringConstraints(min_length=1, max_length=45), AfterValidator(_printable)]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogbookAttachment(Strict):
    """A reference to a file kept elsewhere: a web address, a path on the facility's storage, or both."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)]
    url: Annotated[Reference | None, AfterValidator(lambda v: v and _web_url(v))] = None
    path: Annotated[
        Reference | None,
        Field(description="an absolute path on the facility's storage, without `.` or `..` segments"),
        AfterValidator(lambda v: v and _no_traversal(v)),
    ] = None
    contentType: Annotated[str | None, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=100)] = None

    @model_validator(mode="after")
    def _referenced(self) -> Self:
        if self.url is None and self.path is None:
            raise ValueError("an attachment needs a `url` or a `path`")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError("`path` must be absolute")
        return self


def _not_ahead(moment: datetime | None) -> datetime | None:
    if moment is not None and moment > utc_now() + FUTURE_SLACK:
        raise ValueError(f"must not be more than {FUTURE_SLACK} ahead of now")
    return moment


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


EntryTime = Annotated[UtcDatetime | None, AfterValidator(_not_ahead)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Attachments = Annotated[list[LogbookAttachment], Field(max_length=MAX_ATTACHMENTS)]


class EntryContent(Strict):
    """What a correction may change (kind, time, text, tags, attachments, linked objects)."""

    kind: Kind | None = None
    time: EntryTime = None
    text: Annotated[str | None, Field(min_length=1, description="Markdown")] = None
    tags: Tags | None = None
    attachments: Attachments | None = None
    dataCollectionId: LinkId = None
    blSampleId: LinkId = None
    resultId: Annotated[str | None, Field(pattern=OBJECT_ID_PATTERN)] = None


class EntryCreate(EntryContent):
    """A new entry: of a session (its beamline and proposal are the session's) or beamline-wide (no session)."""

    kind: Kind = NOTE
    text: Annotated[str, Field(min_length=1, description="Markdown")]
    tags: Tags = []
    attachments: Attachments = []
    sessionId: LinkId = None
    beamLineName: BeamLineName | None = Field(None, description="required without `sessionId`; else the session's")

    @model_validator(mode="after")
    def _placed(self) -> Self:
        if self.sessionId is None and self.beamLineName is None:
            raise ValueError("an entry needs a `sessionId` or, beamline-wide, a `beamLineName`")
        return self


class EntryCorrection(EntryContent):
    """A correction: the fields given replace those of the latest version (null clears a link); the rest stay."""

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("a correction changes at least one field")
        for name in ("kind", "time", "text", "tags", "attachments"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be cleared")
        return self


class LogbookAuthor(BaseModel):
    """A person (``personId``, ``login``) or a service (an API key's name, a command such as ``sync-faults``)."""

    personId: int | None = None
    login: str | None = None
    service: str | None = None


class Source(BaseModel):
    """The SQL row an entry was copied from."""

    table: str
    id: int


class Entry(BaseModel):
    """One version of an entry."""

    entryId: str
    version: int
    latest: bool
    kind: str
    beamLineName: str | None
    proposalId: int | None
    sessionId: int | None
    dataCollectionId: int | None
    blSampleId: int | None
    resultId: str | None
    author: LogbookAuthor
    time: datetime
    createdAt: datetime
    text: str
    tags: list[str]
    attachments: list[LogbookAttachment]
    source: Source | None = None


class EntryHistory(Entry):
    """The latest version of an entry, with every version (oldest first)."""

    versions: list[Entry]


class EntryPage(BaseModel):
    """Entries newest first; ``next``: the cursor of the following page (null on the last)."""

    results: list[Entry]
    limit: int
    next: str | None


class KindInfo(BaseModel):
    kind: str
    builtIn: bool


@dataclass(frozen=True)
class EntryFilters:
    """What ``GET /logbook`` narrows to (None: not asked for); ``proposalId`` is resolved from the proposal's name."""

    beamLineName: str | None = None
    sessionId: int | None = None
    proposalId: int | None = None
    kind: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
