"""Spreadsheet import of a shipment: column profiles, one validated row per sample, the error and the report."""

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from schemas.samples import Acronym, Cell, Protocol, SampleName, SpaceGroup

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45)]
Barcode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45, pattern=r"^[\w.:/-]+$")]

#: profile name -> {row field: column header}; facilities add their own with ISPYB_IMPORT_PROFILES
PROFILES: dict[str, dict[str, str]] = {
    "default": {
        "dewar": "Dewar",
        "containerBarcode": "Container barcode",
        "containerCode": "Container name",
        "containerType": "Container type",
        "position": "Position",
        "sampleName": "Sample name",
        "proteinAcronym": "Protein acronym",
        "pinBarcode": "Pin barcode",
        "spaceGroup": "Space group",
        "cell_a": "a",
        "cell_b": "b",
        "cell_c": "c",
        "cell_alpha": "alpha",
        "cell_beta": "beta",
        "cell_gamma": "gamma",
        "comments": "Comments",
        "experimentKind": "Experiment kind",
        "requiredResolution": "Required resolution",
        "aimedResolution": "Aimed resolution",
        "requiredCompleteness": "Required completeness",
        "requiredMultiplicity": "Required multiplicity",
        "anomalousScatterer": "Anomalous scatterer",
        "forcedSpaceGroup": "Forced space group",
        "radiationSensitivity": "Radiation sensitivity",
        "numberOfPositions": "Number of positions",
    },
    # EXI's CSV puck sheet (ISPyB's ESRF web client): parcels are dewars, container names are codes
    "exi": {
        "dewar": "Parcel Name",
        "containerCode": "Container Name",
        "containerType": "Container Type",
        "position": "Sample Position",
        "proteinAcronym": "Protein Acronym",
        "sampleName": "Sample Name",
        "pinBarcode": "Pin Barcode",
        "spaceGroup": "Space Group",
        "cell_a": "a",
        "cell_b": "b",
        "cell_c": "c",
        "cell_alpha": "alpha",
        "cell_beta": "beta",
        "cell_gamma": "gamma",
        "experimentKind": "Experiment Type",
        "aimedResolution": "Aimed Resolution",
        "requiredResolution": "Required Resolution",
        "radiationSensitivity": "Radiation Sensitivity",
        "numberOfPositions": "Number Of positions",
        "forcedSpaceGroup": "forcedSpaceGroup",
        "comments": "Comments",
    },
}
#: EXI columns known but not stored (no column in both flavours): accepted and ignored, never "unknown"
IGNORED: dict[str, tuple[str, ...]] = {
    "exi": ("Beam Diameter", "Aimed Multiplicity", "Aimed Completeness", "Observed Resolution", "Smiles", "axisRange",
            "minOscWidth"),
}  # fmt: skip
REQUIRED = ("dewar", "containerType", "position", "sampleName", "proteinAcronym")


def normalise(header: str) -> str:
    """Headers match whatever their case, spacing or underscores."""
    return re.sub(r"[\s_]+", "", header).lower()


class ImportRow(Cell):
    """One sample of the sheet, with where it sits and what the user would like done with it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    dewar: Label
    containerBarcode: Barcode | None = None
    containerCode: Label | None = None
    containerType: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    position: int = Field(ge=1)
    sampleName: SampleName
    proteinAcronym: Acronym
    pinBarcode: Annotated[str, StringConstraints(max_length=45)] | None = None
    comments: Annotated[str, StringConstraints(max_length=1024)] | None = None
    experimentKind: str | None = Field(None, max_length=45)
    requiredResolution: float | None = Field(None, gt=0, le=50)
    aimedResolution: float | None = Field(None, gt=0, le=50)
    requiredCompleteness: float | None = Field(None, gt=0, le=100)
    requiredMultiplicity: float | None = Field(None, gt=0, le=1000)
    anomalousScatterer: str | None = Field(None, pattern=r"^[A-Z][a-z]?$")
    forcedSpaceGroup: SpaceGroup | None = None
    radiationSensitivity: float | None = Field(None, ge=0, le=10)
    numberOfPositions: int | None = Field(None, ge=1, le=1000)

    @field_validator("position", "numberOfPositions", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        """Spreadsheets store 3 as 3.0."""
        return int(value) if isinstance(value, float) and value.is_integer() else value

    @property
    def container_key(self) -> tuple[str, str]:
        """A container is its barcode, else its name within the dewar."""
        if self.containerBarcode:
            return ("barcode", self.containerBarcode)
        return ("code", f"{self.dewar}/{self.containerCode}")

    def protocol(self) -> Protocol | None:
        fields = [f for f in Protocol.model_fields if f in type(self).model_fields and f != "comments"]
        protocol = Protocol(**{f: getattr(self, f) for f in fields})
        return None if protocol.is_empty() else protocol


class RowError(BaseModel):
    row: int = Field(description="Spreadsheet row (the header is row 1)")
    column: str | None = Field(description="Column header, as in the file")
    value: object = None
    message: str


class ImportReport(BaseModel):
    dryRun: bool
    shippingId: int | None = Field(description="The shipment written to (null in a dry run that would create it)")
    rows: int
    dewars: int = Field(description="Dewars created")
    containers: int = Field(description="Containers created")
    samples: int
    diffractionPlans: int = Field(description="Desired protocols recorded")
    proteinsCreated: list[str]


def parse_row(number: int, values: Mapping[str, object], headers: Mapping[str, str]) -> ImportRow | list[RowError]:
    """A row validated, or every problem with it (``headers`` maps row fields to the file's column headers)."""
    present = {k: v for k, v in values.items() if v is not None and str(v).strip() != ""}
    try:
        return ImportRow(**present)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else None
            column = headers.get(field) if field else None
            errors.append(RowError(row=number, column=column, value=present.get(field or ""), message=e["msg"]))
        return errors


def map_header(header: list[str], profile: Mapping[str, str], ignored: tuple[str, ...] = ()) -> list[str | None]:
    """The row field of each column (None for an ignored one); ValueError naming unknown, repeated and missing
    columns."""
    by_header = {normalise(h): field for field, h in profile.items()}
    skip = {normalise(h) for h in ignored}
    fields: list[str | None] = []
    unknown, repeated = [], []
    for column in header:
        key = normalise(column)
        if not key or key in skip:
            fields.append(None)
        elif key in by_header:
            if by_header[key] in fields:
                repeated.append(column)
            fields.append(by_header[key])
        else:
            unknown.append(column)
    missing = [profile[f] for f in REQUIRED if f not in fields]
    if not {"containerBarcode", "containerCode"} & set(fields):
        missing.append(" or ".join(profile[f] for f in ("containerBarcode", "containerCode") if f in profile))
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise ValueError("; ".join(problems) + f". This profile's columns: {', '.join(profile.values())}")
    return fields
