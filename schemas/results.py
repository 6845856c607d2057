"""Results and metrics kept in the document store: what a pipeline sends and what the API answers."""

import math
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import ApiModel, Paged

INT64 = (-(2**63), 2**63 - 1)  # what a document (BSON) can hold as an integer
Kind = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")]
DcId = Annotated[int, Field(ge=1, le=2**32 - 1)]


def json_problems(value: Any, max_depth: int, path: str = "$", depth: int = 0) -> list[str]:
    """What makes client JSON unsafe to store as a document: keys starting with `$` or holding `.` (operator
    injection), nesting deeper than ``max_depth``, NaN or infinite numbers, integers beyond 8 bytes. Each problem
    names its path."""
    if depth > max_depth:
        return [f"{path}: nested deeper than {max_depth} levels"]
    problems: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                problems.append(f"{path}: key {key!r} may not start with `$` or contain `.`")
                continue
            problems += json_problems(item, max_depth, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems += json_problems(item, max_depth, f"{path}[{i}]", depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{path}: {value} is not a JSON number")
    elif isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        problems.append(f"{path}: {value} is beyond the 8-byte integer range [-2^63, 2^63-1]")
    return problems


class Status(StrEnum):
    running = "running"
    success = "success"
    failed = "failed"


class Program(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    version: Annotated[str, StringConstraints(max_length=50)] | None = None


class Sweep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataCollectionId: DcId
    imageStart: int | None = Field(None, ge=0, le=INT64[1])
    imageEnd: int | None = Field(None, ge=0, le=INT64[1])

    @model_validator(mode="after")
    def _ordered(self) -> "Sweep":
        if self.imageStart is not None and self.imageEnd is not None and self.imageEnd < self.imageStart:
            raise ValueError("imageEnd comes before imageStart")
        return self


class Attachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    type: Annotated[str, StringConstraints(max_length=50)] | None = None


class ResultCreate(BaseModel):
    """A result over one or more data collections (several: multi-sweep), of any shape."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    program: Program
    status: Status = Status.running
    automatic: bool = Field(True, description="First-line processing (true) or a user's reprocessing (false)")
    dataCollectionIds: list[DcId] = Field(min_length=1, max_length=1000)
    sweeps: list[Sweep] = Field([], description="Optional image ranges, per data collection")
    parameters: dict[str, Any] = {}
    data: dict[str, Any] = {}
    attachments: list[Attachment] = []
    runId: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="A client's run id: a retried POST with the same runId returns the first result"
    )

    @model_validator(mode="after")
    def _sweeps_belong(self) -> "ResultCreate":
        strays = {s.dataCollectionId for s in self.sweeps} - set(self.dataCollectionIds)
        if strays:
            raise ValueError(f"sweeps name data collections not in dataCollectionIds: {sorted(strays)}")
        return self


class ResultPatch(BaseModel):
    """Progress of a running result: its status, data keys set one by one, attachments appended."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    data: dict[str, Any] = {}
    attachments: list[Attachment] = []


class Author(ApiModel):
    personId: int
    login: str


class Result(ApiModel):
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
    series: str = Field(description="Results of one kind and program over the same collections form a series")
    version: int
    latest: bool
    runId: str | None = None
    createdBy: Author
    createdAt: datetime
    updatedAt: datetime


class MetricIn(BaseModel):
    """One measured item: its kind's typed values, about one data collection."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    dataCollectionId: DcId
    resultId: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")] | None = None
    values: dict[str, Any] = Field(description="Numbers as numbers; validated by the kind's schema if registered")
    key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="Client key: a metric with a key already stored is not stored twice"
    )


class Metric(ApiModel):
    metricId: str
    kind: str
    dataCollectionId: int
    proposalId: int
    sessionId: int | None
    resultId: str | None = None
    values: dict[str, Any]
    createdAt: datetime


class ResultPage(Paged[Result]):
    totalIsEstimate: bool = Field(
        False, description="The count took too long: `total` is a lower bound (the documents up to this page's end)"
    )


class MetricPage(Paged[Metric]):
    totalIsEstimate: bool = Field(
        False, description="The count took too long: `total` is a lower bound (the documents up to this page's end)"
    )


class BulkRejection(BaseModel):
    line: int
    reason: str


class BulkReport(BaseModel):
    lines: int
    accepted: int
    duplicates: int = Field(description="Lines whose key was already stored (a retried batch): not stored again")
    rejected: list[BulkRejection]


class KindCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    target: Annotated[str, StringConstraints(pattern=r"^(result|metric)$")] = Field(
        description="`metric`: the schema validates a metric's `values`; `result`: a result's `data`"
    )
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    jsonSchema: dict[str, Any] = Field(alias="schema", description="JSON Schema draft 2020-12; fields may add `unit`")


class KindInfo(ApiModel):
    kind: str
    target: str
    title: str | None = None
    builtin: bool
    fields: dict[str, dict[str, Any]] = Field(description="Each field's type, description and unit")
    jsonSchema: dict[str, Any] = Field(alias="schema", serialization_alias="schema")


def unit_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The documented fields of a kind's schema: type, description and unit of each top-level property."""
    return {
        name: {k: spec[k] for k in ("type", "description", "unit") if k in spec}
        for name, spec in schema.get("properties", {}).items()
        if isinstance(spec, dict)
    }


RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(-?[0-9.eE+-]*):(-?[0-9.eE+-]*)$")


class FieldSummary(BaseModel):
    count: int
    mean: float | None
    median: float | None


class KindSummary(BaseModel):
    kind: str
    count: int
    fields: dict[str, FieldSummary]


class DocumentsPart(BaseModel):
    """The document-store part of a unified response; only ``available`` while the store is down."""

    available: bool
    results: list[Result] | None = None
    metrics: list[KindSummary] | None = None


class SessionCollection(BaseModel):
    dataCollectionId: int
    experimentType: str | None
    startTime: datetime | None
    runStatus: str | None
    numberOfImages: int | None
    bestResolution: float | None = Field(description="Lowest overall high-resolution limit of SQL auto-processing")
    autoProcPrograms: int
    results: dict[str, dict[str, Status]] = Field(description="kind → program → status of the latest result")
    metrics: dict[str, int] = Field(description="kind → number of metrics")


class SessionSummary(BaseModel):
    sessionId: int
    documents: DocumentsPart
    dataCollections: list[SessionCollection]
