"""What beamline software sends to ``/events``: MXCuBE's robot-action, energy-scan and XRF dicts (its PyISPyB
adapter, unchanged) and GDA's faults. Keys without a column are set aside (``Lenient``); ids may come as numeric
strings; times are the facility's local wall-clock time, ``""`` meaning none."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from schemas.common import ApiModel
from schemas.lenient import Lenient
from schemas.times import to_sql

#: ISPyB's ids are unsigned 32-bit integers
MAX_ID = 2**32 - 1
#: the largest magnitude a FLOAT column holds
FLOAT_MAX = 3.4e38
#: DATETIME columns start at year 1000; TIMESTAMP columns (RobotAction) hold 1970-2038
DATETIME_MIN = datetime.fromisoformat("1000-01-01T00:00:00")
TIMESTAMP_MIN = datetime.fromisoformat("1970-01-02T00:00:00")
TIMESTAMP_MAX = datetime.fromisoformat("2038-01-18T00:00:00")


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _no_sample(value: Any) -> Any:
    """MXCuBE's ``-1`` (and ``null``, ``""``) for "no sample"."""
    value = _blank_is_none(value)
    return None if value in (-1, "-1") else value


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _local(value: datetime | None) -> datetime | None:
    """A time as an ISPyB column keeps it: naive facility-local (an aware one is converted)."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return to_sql(value)
    except OverflowError:
        raise ValueError("the time is out of range once converted to local time") from None


def _datetime_range(value: datetime | None) -> datetime | None:
    if value is not None and value < DATETIME_MIN:
        raise ValueError("a time before the year 1000 cannot be stored")
    return value


def _timestamp_range(value: datetime | None) -> datetime | None:
    if value is not None and not TIMESTAMP_MIN <= value <= TIMESTAMP_MAX:
        raise ValueError("a robot action's time must lie between 1970-01-02 and 2038-01-18")
    return value


#: strings of at most so many characters (their column's width)
Text20 = Annotated[str, StringConstraints(max_length=20)]
Text45 = Annotated[str, StringConstraints(max_length=45)]
Text50 = Annotated[str, StringConstraints(max_length=50)]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Text512 = Annotated[str, StringConstraints(max_length=512)]
Text1024 = Annotated[str, StringConstraints(max_length=1024)]
#: a TEXT column's width (bytes; the columns are latin1, one byte a character)
LongText = Annotated[str, StringConstraints(max_length=65535)]


#: an object's id in a body (an integer or a numeric string)
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: a sample's id, where ``-1``/``null``/``""`` mean none
SampleRef = Annotated[Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_no_sample)]
#: a DATETIME column's value
LocalTime = Annotated[
    datetime | None, BeforeValidator(_blank_is_none), AfterValidator(_local), AfterValidator(_datetime_range)
]
#: a TIMESTAMP column's value
Timestamp = Annotated[
    datetime | None, BeforeValidator(_blank_is_none), AfterValidator(_local), AfterValidator(_timestamp_range)
]
#: a FLOAT column's value, and one that cannot be negative
Float32 = Annotated[float, Field(allow_inf_nan=False, ge=-FLOAT_MAX, le=FLOAT_MAX)]
Positive32 = Annotated[float, Field(allow_inf_nan=False, ge=0, le=FLOAT_MAX)]
#: a DOUBLE column's value that cannot be negative (a flux)
PositiveDouble = Annotated[float, Field(allow_inf_nan=False, ge=0)]
#: a SMALLINT position (robot action's dewar and container locations)
Location = Annotated[int, Field(ge=0, le=32767)]
#: an enumerated column's value, checked against the live database's ENUM by data access
EnumText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=45)] | None, BeforeValidator(_blank_is_none)
]


def _not_before(value: datetime | None, info: ValidationInfo, start_field: str) -> datetime | None:
    start = info.data.get(start_field)
    if value is not None and start is not None and value < start:
        raise ValueError(f"is before `{start_field}`")
    return value


class RobotActionCreate(Lenient):
    """MXCuBE's robot action (after its adapter's renames): a sample mounted, unmounted, washed…"""

    sessionId: BodyId
    actionType: EnumText = Field(
        None, description="LOAD, UNLOAD, DISPOSE, STORE, WASH, ANNEAL (and more on some databases: a 422 lists them)"
    )
    status: EnumText = Field(None, description="SUCCESS, ERROR, CRITICAL, WARNING, COMMANDNOTSENT (and more…)")
    message: Text255 | None = None
    blSampleId: SampleRef = None
    sampleBarcode: Text45 | None = None
    containerLocation: Location | None = None
    dewarLocation: Location | None = None
    startTimestamp: Timestamp = Field(None, description="Local time; absent or empty: now")
    endTimestamp: Timestamp = Field(None, description="Local time; absent or empty: now")
    xtalSnapshotBefore: Text255 | None = None
    xtalSnapshotAfter: Text255 | None = None

    @field_validator("endTimestamp")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _not_before(value, info, "startTimestamp")


#: energy-scan columns the official schema has and Diamond's lacks
REMOTE_ENERGY = ("remoteEnergy", "remoteFPrime", "remoteFDoublePrime")


class EnergyScanCreate(Lenient):
    """An energy (MAD edge) scan as MXCuBE's energy-scan objects store it."""

    sessionId: BodyId
    blSampleId: SampleRef = None
    element: Text45 | None = None
    edgeEnergy: Annotated[Text255 | None, BeforeValidator(_number_as_text)] = None
    startEnergy: Positive32 | None = None
    endEnergy: Positive32 | None = None
    transmissionFactor: Positive32 | None = None
    exposureTime: Positive32 | None = None
    axisPosition: Float32 | None = None
    synchrotronCurrent: Positive32 | None = None
    temperature: Float32 | None = None
    peakEnergy: Positive32 | None = None
    peakFPrime: Float32 | None = None
    peakFDoublePrime: Float32 | None = None
    inflectionEnergy: Positive32 | None = None
    inflectionFPrime: Float32 | None = None
    inflectionFDoublePrime: Float32 | None = None
    xrayDose: Positive32 | None = None
    startTime: LocalTime = None
    endTime: LocalTime = None
    fluorescenceDetector: Text255 | None = None
    scanFileFullPath: Text255 | None = None
    choochFileFullPath: Text255 | None = None
    jpegChoochFileFullPath: Text255 | None = None
    filename: Text255 | None = None
    beamSizeVertical: Positive32 | None = None
    beamSizeHorizontal: Positive32 | None = None
    crystalClass: Text20 | None = None
    comments: Text1024 | None = None
    flux: PositiveDouble | None = None
    flux_end: PositiveDouble | None = None
    workingDirectory: Text45 | None = None
    remoteEnergy: Positive32 | None = Field(None, description="Stored where the database has the column")
    remoteFPrime: Float32 | None = Field(None, description="Stored where the database has the column")
    remoteFDoublePrime: Float32 | None = Field(None, description="Stored where the database has the column")
    _unstored: list[str] = PrivateAttr(default_factory=list)

    @field_validator("endTime")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _not_before(value, info, "startTime")

    def columns(self) -> dict[str, Any]:
        """The values of the columns every flavour has (the model's fields; never the keys set aside)."""
        return self.model_dump(include=set(type(self).model_fields) - {"sessionId", "blSampleId", *REMOTE_ENERGY})

    def remote(self) -> dict[str, float]:
        """The remote-energy values given."""
        return {name: value for name in REMOTE_ENERGY if (value := getattr(self, name)) is not None}

    def unstored(self, names: list[str]) -> None:
        """Report ``names`` (given, but this database has no column for them) among the ignored keys."""
        self._unstored = names

    def ignored(self, path: str = "") -> list[str]:
        prefix = f"{path}." if path else ""
        return sorted(super().ignored(path) + [prefix + name for name in self._unstored])


class XrfSpectrumCreate(Lenient):
    """An X-ray fluorescence spectrum as MXCuBE's XRF-spectrum objects store it."""

    sessionId: BodyId
    blSampleId: SampleRef = None
    startTime: LocalTime = None
    endTime: LocalTime = None
    energy: Positive32 | None = None
    exposureTime: Positive32 | None = None
    axisPosition: Float32 | None = None
    beamTransmission: Positive32 | None = None
    beamSizeVertical: Positive32 | None = None
    beamSizeHorizontal: Positive32 | None = None
    filename: Text255 | None = None
    scanFileFullPath: Text255 | None = None
    jpegScanFileFullPath: Text255 | None = None
    annotatedPymcaXfeSpectrum: Text255 | None = None
    fittedDataFileFullPath: Text255 | None = None
    crystalClass: Text20 | None = None
    comments: Text1024 | None = None
    flux: PositiveDouble | None = None
    flux_end: PositiveDouble | None = None
    workingDirectory: Text512 | None = None

    @field_validator("endTime")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _not_before(value, info, "startTime")

    def columns(self) -> dict[str, Any]:
        return self.model_dump(include=set(type(self).model_fields) - {"sessionId", "blSampleId"})


class FaultCreate(Lenient):
    """A beamline fault as GDA (or any beamline software) reports it."""

    sessionId: BodyId
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: LongText
    starttime: LocalTime = Field(None, description="Local time; absent or empty: now")
    endtime: LocalTime = None
    beamtimelost: bool | None = None
    beamtimelost_starttime: LocalTime = None
    beamtimelost_endtime: LocalTime = None
    owner: Text50 | None = None
    assignee: Text50 | None = None
    resolved: bool | None = None
    resolution: LongText | None = None
    subcomponentId: BodyId | None = Field(None, description="A BF_subcomponent of the facility's fault tree")

    @field_validator("endtime")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _not_before(value, info, "starttime")

    @field_validator("beamtimelost_endtime")
    @classmethod
    def _lost_ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return _not_before(value, info, "beamtimelost_starttime")

    def columns(self) -> dict[str, Any]:
        return self.model_dump(include=set(type(self).model_fields) - {"sessionId"})


class EnergyScanSample(Lenient):
    """Which sample an energy scan was taken on."""

    energyScanId: BodyId
    blSampleId: BodyId


class EnergyScanSampleLink(ApiModel):
    energyScanId: int
    blSampleId: int
