"""What beamline software sends while it collects (MXCuBE's dicts, docs/design/mxcube-calls.md §4) and what it reads
back. Every body is ``Lenient``: a key without a column is ignored and reported; an impossible value is refused
(422 naming the field). Ids may come as numeric strings (pydantic's lax mode turns ``"10"`` into 10)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from schemas.common import ApiModel
from schemas.lenient import Lenient
from schemas.times import to_sql

MAX_UNSIGNED = 2**32 - 1
MAX_SIGNED = 2**31 - 1
#: a row id (ISPyB's unsigned 4-byte ids)
RowId = Annotated[int, Field(ge=1, le=MAX_UNSIGNED)]
#: a data collection group's or detector's id (their tables use a signed 4-byte id)
SignedId = Annotated[int, Field(ge=1, le=MAX_SIGNED)]
#: a count or number kept in an unsigned 4-byte column
Count = Annotated[int, Field(ge=0, le=MAX_UNSIGNED)]
#: a value of a FLOAT column: finite, within its range
Real = Annotated[float, Field(allow_inf_nan=False, ge=-3.4e38, le=3.4e38)]
#: a duration, size or rate: not negative
Positive = Annotated[float, Field(allow_inf_nan=False, ge=0, le=3.4e38)]
#: a sample id as MXCuBE has it: -1 or 0 (and null) mean none
SampleRef = Annotated[int, Field(ge=-1, le=MAX_UNSIGNED)]
Text20 = Annotated[str, StringConstraints(max_length=20)]
Text24 = Annotated[str, StringConstraints(max_length=24)]
Text45 = Annotated[str, StringConstraints(max_length=45)]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Text1024 = Annotated[str, StringConstraints(max_length=1024)]
Text2000 = Annotated[str, StringConstraints(max_length=2000)]


def _wall_clock(value: Any) -> Any:
    """MXCuBE marks its local wall-clock time with a literal ``Z`` (DA L201-208): keep the digits as they are."""
    if isinstance(value, str) and value[-1:] in ("Z", "z"):
        return value[:-1]
    return value


def _as_local(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        try:
            moment = to_sql(moment)
        except OverflowError:
            raise ValueError("the moment is out of range once converted to local time") from None
    if moment.year < 1000:
        raise ValueError("a year before 1000 cannot be stored")
    return moment


#: a time as an ISPyB column holds it: naive facility-local (a trailing ``Z`` is local wall time; other offsets
#: are converted to local time)
LocalTime = Annotated[datetime, BeforeValidator(_wall_clock), AfterValidator(_as_local)]


class SessionCreate(Lenient):
    """``POST /sessions``: an unscheduled session MXCuBE opens for today (DA L199-213)."""

    proposalId: RowId
    startDate: LocalTime
    endDate: LocalTime
    beamLineName: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=45)]
    comments: Text2000 | None = None
    scheduled: bool | None = None
    nbShifts: Count | None = None

    @field_validator("endDate")
    @classmethod
    def _end(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("startDate")
        if start is not None and value < start:
            raise ValueError("the session ends before it starts")
        return value


class SessionSetup(ApiModel):
    """The answer to ``PATCH /sessions/{id}/associate-beamline-setup``."""

    sessionId: int
    beamLineSetupId: int


class Undulator(Lenient):
    type: Text45 | None = None


class BeamlineConfig(Lenient):
    """MXCuBE's beamline config dict (``AbstractCollect.BeamlineConfig`` as a dict, §4.2) → ``BeamLineSetup``."""

    synchrotron_name: Text255 | None = None
    synchrotronMode: Text255 | None = None
    #: each an object with its ``type``, or the type alone
    undulators: list[Undulator | Text45] | None = Field(None, max_length=3)
    monochromator_type: Text255 | None = None
    focusing_optic: Text255 | None = None
    beam_divergence_vertical: Real | None = None
    beam_divergence_horizontal: Real | None = None
    polarisation: Real | None = None
    minimum_exposure_time: Positive | None = None
    maximum_phi_speed: Positive | None = None
    minimum_phi_oscillation: Positive | None = None
    #: our previous answer, which MXCuBE writes back into its dict: that row is reused when nothing changed
    beamlineSetupId: RowId | None = Field(None, validation_alias=AliasChoices("beamlineSetupId", "beamLineSetupId"))


class Detector(ApiModel):
    detectorId: int
    detectorType: str | None
    detectorManufacturer: str | None
    detectorModel: str | None
    detectorMode: str | None
    detectorPixelSizeHorizontal: float | None
    detectorPixelSizeVertical: float | None
    detectorSerialNumber: str | None
    detectorDistanceMin: float | None
    detectorDistanceMax: float | None
    sensorThickness: float | None
    density: float | None
    composition: str | None
    localName: str | None


class FileInfo(Lenient):
    directory: Text255 | None = None
    prefix: Text45 | None = None
    suffix: Text45 | None = None
    template: Text255 | None = None
    run_number: Count | None = None


class Oscillation(Lenient):
    start: Real | None = None
    range: Real | None = None
    offset: Real | None = None
    number_of_images: Count | None = None
    start_image_number: Count | None = None
    number_of_passes: Count | None = None
    exposure_time: Positive | None = None
    kappaStart: Real | None = None
    phiStart: Real | None = None


class SampleReference(Lenient):
    blSampleId: SampleRef | None = None


class GroupRef(Lenient):
    """A group as we answered it (MXCuBE keeps our answer and sends it back as ``group_id``)."""

    dataCollectionGroupId: SignedId
    sessionId: int | None = None
    experimentType: str | None = None
    blSampleId: int | None = None


class Collection(Lenient):
    """MXCuBE's collection dict (``to_collect_dict`` plus what ``AbstractCollect`` adds, §4.1), and the queue's group
    dict (``sessionId``, ``experimentType``, slots; row 15a). Every key is optional here; what a route needs it
    checks."""

    collection_id: RowId | None = None
    group_id: SignedId | GroupRef | None = None
    sessionId: RowId | None = None
    experiment_type: Text24 | None = None
    experimentType: Text24 | None = None
    status: Text45 | None = None
    comments: Text1024 | None = None
    collection_start_time: LocalTime | None = None
    sample_reference: SampleReference | None = None
    blSampleId: SampleRef | None = None
    oscillation_sequence: list[Oscillation] | None = Field(None, max_length=1)
    fileinfo: FileInfo | None = None
    wavelength: Positive | None = None
    resolution: Positive | None = None
    resolutionAtCorner: Positive | None = None
    detectorDistance: Positive | None = None
    transmission: Positive | None = None
    xBeam: Real | None = None
    yBeam: Real | None = None
    beamSizeAtSampleX: Positive | None = None
    beamSizeAtSampleY: Positive | None = None
    beamShape: Text45 | None = None
    slitGapHorizontal: Real | None = None
    slitGapVertical: Real | None = None
    undulatorGap1: Real | None = None
    undulatorGap2: Real | None = None
    undulatorGap3: Real | None = None
    synchrotronMode: Text20 | None = None
    flux: Positive | None = None
    flux_end: Positive | None = None
    totalAbsorbedDose: Positive | None = None
    xtalSnapshotFullPath1: Text255 | None = None
    xtalSnapshotFullPath2: Text255 | None = None
    xtalSnapshotFullPath3: Text255 | None = None
    xtalSnapshotFullPath4: Text255 | None = None
    centringMethod: Text255 | None = None
    actualCentringPosition: Text255 | None = None
    detectorId: Annotated[int, Field(ge=0, le=MAX_SIGNED)] | None = Field(
        None, validation_alias=AliasChoices("detectorId", "detector_id")
    )
    screening_sub_wedge_id: RowId | None = None
    actualSampleBarcode: Text45 | None = None
    actualContainerBarcode: Text45 | None = None
    actualSampleSlotInContainer: Count | None = None
    actualContainerSlotInSC: Count | None = None
    #: MXCuBE's binning mode: 1 or 2 go to ``binning``; other spellings (``"1x1"``) are not stored
    detector_binning_mode: int | Text45 | None = None

    def group_number(self) -> int | None:
        """The group's id, given as a number or as our earlier answer."""
        return self.group_id.dataCollectionGroupId if isinstance(self.group_id, GroupRef) else self.group_id

    def sample_id(self) -> int | None:
        """The sample, from ``blSampleId`` or ``sample_reference``; -1 and 0 mean none."""
        ref = self.sample_reference.blSampleId if self.sample_reference else None
        found = self.blSampleId if self.blSampleId is not None else ref
        return found if found is not None and found > 0 else None


class Group(ApiModel):
    """A data collection group as MXCuBE keeps it (and sends it back as a collection's ``group_id``)."""

    dataCollectionGroupId: int
    sessionId: int
    experimentType: str | None
    blSampleId: int | None


class CollectionStored(ApiModel):
    dataCollectionId: int
    dataCollectionGroupId: int


class ImageIn(Lenient):
    """An image row (``AbstractCollect.store_image_in_lims``, §4.3)."""

    dataCollectionId: RowId
    imageNumber: Count | None = None
    fileName: Text255 | None = None
    fileLocation: Text255 | None = None
    measuredIntensity: Real | None = None
    synchrotronCurrent: Real | None = None
    machineMessage: Text1024 | None = None
    temperature: Real | None = None
    jpegFileFullPath: Text255 | None = None
    jpegThumbnailFileFullPath: Text255 | None = None
    motorPositionId: RowId | None = None
    cumulativeIntensity: Real | None = None
    comments: Text1024 | None = None


class ImageStored(ApiModel):
    imageId: int
    dataCollectionId: int
