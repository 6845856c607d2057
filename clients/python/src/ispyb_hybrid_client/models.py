"""What the client sends and receives, in step with the service's OpenAPI (the server's test suite compares them:
same names, fields, types, bounds and defaults). What it sends refuses unknown fields, as the service does; what
it receives keeps the fields it knows."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

INT64_MAX = 2**63 - 1  # what a document (BSON) can hold as an integer
Kind = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")]
DcId = Annotated[int, Field(ge=1, le=2**32 - 1)]


class Sent(BaseModel):
    """A request body: unknown fields are refused here rather than by the service."""

    model_config = ConfigDict(extra="forbid")


class Status(StrEnum):
    running = "running"
    success = "success"
    failed = "failed"


class Program(Sent):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    version: Annotated[str, StringConstraints(max_length=50)] | None = None


class Sweep(Sent):
    """An image range of one data collection."""

    dataCollectionId: DcId
    imageStart: int | None = Field(None, ge=0, le=INT64_MAX)
    imageEnd: int | None = Field(None, ge=0, le=INT64_MAX)

    @model_validator(mode="after")
    def _ordered(self) -> "Sweep":
        if self.imageStart is not None and self.imageEnd is not None and self.imageEnd < self.imageStart:
            raise ValueError("imageEnd comes before imageStart")
        return self


class Attachment(Sent):
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    type: Annotated[str, StringConstraints(max_length=50)] | None = None


class ResultCreate(Sent):
    """A result over one or more data collections (several: multi-sweep), of any shape."""

    kind: Kind
    program: Program
    status: Status = Status.running
    automatic: bool = True
    dataCollectionIds: list[DcId] = Field(min_length=1, max_length=1000)
    sweeps: list[Sweep] = []
    parameters: dict[str, Any] = {}
    data: dict[str, Any] = {}
    attachments: list[Attachment] = []
    runId: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _sweeps_belong(self) -> "ResultCreate":
        strays = {s.dataCollectionId for s in self.sweeps} - set(self.dataCollectionIds)
        if strays:
            raise ValueError(f"sweeps name data collections not in dataCollectionIds: {sorted(strays)}")
        return self


class ResultPatch(Sent):
    """Progress of a running result: its status, data keys set one by one, attachments appended."""

    status: Status | None = None
    data: dict[str, Any] = {}
    attachments: list[Attachment] = []


class MetricIn(Sent):
    """One measured item (a line of a bulk upload): its kind's values, about one data collection."""

    kind: Kind
    dataCollectionId: DcId
    resultId: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")] | None = None
    values: dict[str, Any]
    key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class Author(BaseModel):
    personId: int
    login: str


class Result(BaseModel):
    """A stored result; results of one kind and program over the same collections form a ``series``."""

    resultId: str
    kind: str
    program: Program
    status: Status
    automatic: bool
    dataCollectionIds: list[int]
    sweeps: list[Sweep]
    parameters: dict[str, Any]
    data: dict[str, Any]
    attachments: list[Attachment]
    proposalId: int
    sessionIds: list[int]
    series: str
    version: int
    latest: bool
    runId: str | None = None
    createdBy: Author
    createdAt: datetime
    updatedAt: datetime


class BulkRejection(BaseModel):
    line: int
    reason: str


class BulkReport(BaseModel):
    """A bulk upload's outcome; ``duplicates`` are lines whose key was already stored (not stored again)."""

    lines: int
    accepted: int
    duplicates: int
    rejected: list[BulkRejection]
