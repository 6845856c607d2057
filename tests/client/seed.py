"""Seed data for driving py-ispyb-ui: the tests' data set (tests/factories.py) plus what every page of the UI shows
(snapshots, a diffraction thumbnail and a CBF frame under a data root, attachments, processing messages, a
screening, a workflow with steps, image quality indicators, a sub-sample, a lab contact on a shipment, options and,
on the Diamond flavour, a ProcessingJob). Tables the models do not map are written in SQL, keeping only the
columns the flavour has."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import fabio.cbfimage  # type: ignore[import-untyped]  # fabio ships no types
import numpy
from PIL import Image as Picture
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    AutoProcIntegration,
    BLSample,
    BLSession,
    Container,
    DataCollection,
    DataCollectionGroup,
    Image,
    LabContact,
    Laboratory,
    Person,
    Shipping,
)
from tests import factories

START = datetime(2024, 3, 1, 8, 0)
#: a Pilatus mini-header: what the image viewer's resolution rings are drawn from
PILATUS_HEADER = (
    "# Detector: PILATUS 6M, S/N 60-0000\r\n# Pixel_size 172e-6 m x 172e-6 m\r\n# Exposure_time 0.04 s\r\n"
    "# Wavelength 0.9763 A\r\n# Detector_distance 0.20000 m\r\n# Beam_xy (128.00, 128.00) pixels\r\n"
    "# Start_angle {angle:.4f} deg.\r\n# Angle_increment 0.1000 deg.\r\n"
)


@dataclass
class Seeded:
    """What the driver visits: the tests' data set and the ids of what the seed added."""

    data: factories.Dataset
    single_dc: int = 0
    lab_contact: int = 0
    sub_sample: int = 0
    files: dict[str, Path] = field(default_factory=dict)


async def _columns(db: AsyncSession, table: str) -> dict[str, str]:
    """The table's columns, lower-cased name -> name as the flavour spells it (empty: no such table)."""
    query = text(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"
    )
    return {name.lower(): name for (name,) in (await db.execute(query, {"t": table})).all()}


async def _insert(db: AsyncSession, table: str, **values: object) -> int | None:
    """INSERT the values whose columns the flavour has; the new row's id, None where the table is absent."""
    columns = await _columns(db, table)
    if not columns:
        return None
    kept = {columns[k.lower()]: v for k, v in values.items() if k.lower() in columns}
    names = ", ".join(f"`{k}`" for k in kept)
    marks = ", ".join(f":{k}" for k in kept)
    return await factories.insert(db, f"INSERT INTO `{table}` ({names}) VALUES ({marks})", **kept)


async def _set(db: AsyncSession, table: str, key: str, key_value: int, **values: object) -> None:
    """UPDATE the given columns the flavour has of one row."""
    columns = await _columns(db, table)
    kept = {columns[k.lower()]: v for k, v in values.items() if k.lower() in columns}
    if kept:
        assignments = ", ".join(f"`{k}` = :{k}" for k in kept)
        await db.execute(text(f"UPDATE `{table}` SET {assignments} WHERE `{key}` = :_key"), {**kept, "_key": key_value})


def write_files(root: Path) -> dict[str, Path]:
    """Pictures, a CBF frame, a log and a plot under ``root``; their paths by name."""
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for i in range(1, 5):
        files[f"snapshot{i}"] = root / f"snapshot{i}.png"
        Picture.new("RGB", (64, 48), (40 * i, 90, 160)).save(files[f"snapshot{i}"])
        files[f"snapshot{i}t"] = root / f"snapshot{i}t.png"
        Picture.new("RGB", (32, 24), (40 * i, 90, 160)).save(files[f"snapshot{i}t"])
    for name in ("diffraction", "diffraction_thumb", "quality", "step"):
        files[name] = root / f"{name}.jpg"
        Picture.new("L", (64, 64), 128).save(files[name])
    (root / "images").mkdir(exist_ok=True)
    for number in (1, 2):  # the image viewer's first frame and the next one, with a Pilatus header (its rings)
        frame = numpy.random.default_rng(number).poisson(20, (256, 256)).astype(numpy.int32)
        files[f"frame{number}"] = root / "images" / f"sa_{number:04d}.cbf"
        header = {"_array_data.header_contents": PILATUS_HEADER.format(angle=0.1 * (number - 1))}
        fabio.cbfimage.CbfImage(data=frame, header=header).write(str(files[f"frame{number}"]))
    files["log"] = root / "xia2.log"
    files["log"].write_text("xia2 finished\n")
    files["result"] = root / "xia2.html"
    files["result"].write_text("<html><body>result</body></html>\n")
    return files


async def seed(db: AsyncSession, tag: str, root: Path) -> Seeded:
    """The tests' data set and, for proposal a, something on every page of the UI."""
    seeded = Seeded(await factories.build(db, tag))
    files = seeded.files = write_files(root)
    data = seeded.data
    session_id, sample_id = data.sessions["a"], data.samples["a"]
    await _options(db)
    for key in ("a0", "a1"):
        await _picture_collection(db, data.dcs[key], files)
    # a collection of its own (the events list shows groups of one and of two), with a screening and attachments
    group = DataCollectionGroup(
        sessionId=session_id, blSampleId=sample_id, experimentType="Characterization", startTime=START
    )
    db.add(group)
    await db.flush()
    single = DataCollection(
        dataCollectionGroupId=group.dataCollectionGroupId,
        sessionId=session_id,
        blSampleId=sample_id,
        runStatus="Data collection successful",
        startTime=START + timedelta(minutes=20),
        endTime=START + timedelta(minutes=22),
        wavelength=0.9763,
        numberOfImages=4,
        exposureTime=0.1,
    )
    db.add(single)
    await db.flush()
    seeded.single_dc = single.dataCollectionId
    await _picture_collection(db, single.dataCollectionId, files)
    await _screening(db, single.dataCollectionId)
    for dc_id in (single.dataCollectionId, data.dcs["a0"]):
        await _insert(
            db,
            "DataCollectionFileAttachment",
            dataCollectionId=dc_id,
            fileFullPath=str(files["log"]),
            fileType="log",
            createTime=START,
        )
    await _workflow(db, data.groups["a"], files)
    # the events list shows a group by its last collection (a1): processing there and on the single one
    for dc_id in (data.dcs["a1"], single.dataCollectionId):
        await factories._processing(db, dc_id)  # the tests' own auto-processing rows
        query = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.dataCollectionId == dc_id)
        program_id = (await db.execute(query)).scalar_one()
        assert program_id is not None
        await _program_files(db, program_id, dc_id, files)
        await _processing_job(db, dc_id, files)
    seeded.sub_sample = await _sub_sample(db, sample_id, files)
    seeded.lab_contact = await _lab_contact(db, data, tag)
    return seeded


async def _options(db: AsyncSession) -> None:
    """py-ispyb's options as it stores them: AdminVar rows of JSON values."""
    await _insert(db, "AdminVar", name="motd", value='"Seeded for the UI driver"')
    await _insert(db, "AdminVar", name="query_debug", value="false")


async def _picture_collection(db: AsyncSession, dc_id: int, files: dict[str, Path]) -> None:
    """Snapshots, a frame template, a quality plot and a first image with its JPEG and thumbnail."""
    await db.execute(
        update(DataCollection)
        .where(DataCollection.dataCollectionId == dc_id)
        .values(
            imageDirectory=str(files["frame1"].parent),
            fileTemplate="sa_%04d.cbf",
            imagePrefix="sa",
            imageSuffix="cbf",
            startImageNumber=1,
            exposureTime=0.04,
            beamSizeAtSampleX=20.0,
            beamSizeAtSampleY=20.0,
            detectorDistance=200.0,
            xBeam=12.8,
            yBeam=12.8,
            **{f"xtalSnapshotFullPath{i}": str(files[f"snapshot{i}"]) for i in range(1, 5)},
        )
    )
    await _set(db, "DataCollection", "dataCollectionId", dc_id, imageQualityIndicatorsPlotPath=str(files["quality"]))
    db.add(
        Image(
            dataCollectionId=dc_id,
            imageNumber=1,
            fileName="sa_0001.cbf",
            fileLocation=str(files["frame1"].parent),
            jpegFileFullPath=str(files["diffraction"]),
            jpegThumbnailFileFullPath=str(files["diffraction_thumb"]),
        )
    )
    await db.flush()


async def _screening(db: AsyncSession, dc_id: int) -> None:
    """A characterisation with an output, a lattice and a strategy down to a sub-wedge."""
    screening = await _insert(
        db, "Screening", dataCollectionId=dc_id, programVersion="EDNA", shortComments="EDNAStrategy", bltimeStamp=START
    )
    output = await _insert(
        db,
        "ScreeningOutput",
        screeningId=screening,
        indexingSuccess=1,
        strategySuccess=1,
        screeningSuccess=1,
        mosaicity=0.1,
        rankingResolution=1.9,
        program="EDNA",
    )
    await _insert(
        db,
        "ScreeningOutputLattice",
        screeningOutputId=output,
        spaceGroup="P21",
        unitCell_a=40.1,
        unitCell_b=50.2,
        unitCell_c=60.3,
        unitCell_alpha=90,
        unitCell_beta=95,
        unitCell_gamma=90,
    )
    strategy = await _insert(
        db, "ScreeningStrategy", screeningOutputId=output, program="BEST", rankingResolution=1.9, exposureTime=0.04
    )
    wedge = await _insert(
        db, "ScreeningStrategyWedge", screeningStrategyId=strategy, wedgeNumber=1, resolution=1.9, completeness=0.99
    )
    await _insert(
        db,
        "ScreeningStrategySubWedge",
        screeningStrategyWedgeId=wedge,
        subWedgeNumber=1,
        axisStart=0,
        axisEnd=180,
        exposureTime=0.04,
        transmission=50,
        oscillationRange=0.1,
        numberOfImages=1800,
    )


async def _workflow(db: AsyncSession, group_id: int, files: dict[str, Path]) -> None:
    """A workflow with two steps on the group (the official flavour; Diamond's has no Workflow table)."""
    workflow = await _insert(
        db, "Workflow", workflowTitle="MXPressE", workflowType="MXPressE", status="Success", recordTimeStamp=START
    )
    if workflow is None:
        return
    await _set(db, "DataCollectionGroup", "dataCollectionGroupId", group_id, workflowId=workflow)
    for i, kind in enumerate(("Characterisation", "Collection")):
        await _insert(
            db,
            "WorkflowStep",
            workflowId=workflow,
            workflowStepType=kind,
            status="Success",
            folderPath=str(files["step"].parent),
            imageResultFilePath=str(files["step"]),
            htmlResultFilePath=str(files["result"]),
            resultFilePath=str(files["log"]),
            recordTimeStamp=START + timedelta(minutes=i),
        )


async def _program_files(db: AsyncSession, program_id: int, dc_id: int, files: dict[str, Path]) -> None:
    """The program's log and result, messages (where the flavour keeps them) and per-image quality indicators."""
    for kind, name in (("Log", "log"), ("Result", "result")):
        await _insert(
            db,
            "AutoProcProgramAttachment",
            autoProcProgramId=program_id,
            fileType=kind,
            fileName=files[name].name,
            filePath=str(files[name].parent),
            recordTimeStamp=START,
        )
    for severity, message in (("WARNING", "low completeness in the outer shell"), ("INFO", "xia2 done")):
        await _insert(db, "AutoProcProgramMessage", autoProcProgramId=program_id, severity=severity, message=message)
    for number in range(1, 5):
        await _insert(
            db,
            "ImageQualityIndicators",
            dataCollectionId=dc_id,
            imageNumber=number,
            autoProcProgramId=program_id,
            spotTotal=100 + number,
            goodBraggCandidates=50 + number,
            method2Res=2.0,
            totalIntegratedSignal=1000.0 * number,
            dozor_score=number / 2,
            recordTimeStamp=START,
        )


async def _processing_job(db: AsyncSession, dc_id: int, files: dict[str, Path]) -> None:
    """Diamond's processing request (its flavour alone has ProcessingJob) with a parameter and a sweep, and the
    program it ran that integrated nothing (phasing: the session page's "Auto Processing"), with its log."""
    job = await _insert(
        db, "ProcessingJob", dataCollectionId=dc_id, displayName="fast_ep", recipe="postprocessing-fast-ep", automatic=1
    )
    if job is None:
        return
    program = await _insert(
        db,
        "AutoProcProgram",
        processingJobId=job,
        processingPrograms="fast_ep",
        processingStatus=1,
        processingStartTime=START + timedelta(hours=2),
        processingEndTime=START + timedelta(hours=2, minutes=5),
    )
    await _insert(
        db,
        "AutoProcProgramAttachment",
        autoProcProgramId=program,
        fileType="Log",
        fileName=files["log"].name,
        filePath=str(files["log"].parent),
    )
    await _insert(
        db, "ProcessingJobParameter", processingJobId=job, parameterKey="ispyb_dcid", parameterValue=str(dc_id)
    )
    await _insert(db, "ProcessingJobImageSweep", processingJobId=job, dataCollectionId=dc_id, startImage=1, endImage=4)


async def _sub_sample(db: AsyncSession, sample_id: int, files: dict[str, Path]) -> int:
    """A point on the sample (a position and a sub-sample), the sample's comments, its puck in the sample changer,
    and a spare sample."""
    position = await _insert(db, "Position", posX=10.0, posY=20.0, posZ=0.0)
    sub = await _insert(
        db,
        "BLSubSample",
        blSampleId=sample_id,
        positionId=position,
        imgFileName=files["snapshot1"].name,
        imgFilePath=str(files["snapshot1"].parent),
        comments="seeded point",
        source="manual",
        type="point",
    )
    assert sub is not None
    await db.execute(update(BLSample).where(BLSample.blSampleId == sample_id).values(comments="seeded"))
    # a sample never collected, which the samples list offers to remove (DELETE /samples/{id})
    sample = await db.get(BLSample, sample_id)
    assert sample is not None and sample.containerId is not None
    # its puck in the beamline's sample changer (the sample changer view draws it)
    await db.execute(
        update(Container)
        .where(Container.containerId == sample.containerId)
        .values(beamlineLocation=factories.BEAMLINE_A, sampleChangerLocation="1", containerStatus="processing")
    )
    db.add(BLSample(containerId=sample.containerId, crystalId=sample.crystalId, name="spare", location="2"))
    await db.flush()
    return sub


async def _lab_contact(db: AsyncSession, data: factories.Dataset, tag: str) -> int:
    """A lab contact of proposal a, the sender and returner of its shipment."""
    laboratory = Laboratory(name=f"Lab {tag}", address="1 Beam Road", city="Grenoble", country="France")
    person = Person(login=None, givenName="Contact", familyName=f"Lab{tag}", emailAddress="contact@lab.test")
    db.add(laboratory)
    await db.flush()
    person.laboratoryId = laboratory.laboratoryId
    db.add(person)
    await db.flush()
    query = select(BLSession.proposalId).where(BLSession.sessionId == data.sessions["a"])
    proposal_id = (await db.execute(query)).scalar_one()
    contact = LabContact(
        personId=person.personId, cardName=f"card {tag}", proposalId=proposal_id, defaultCourrierCompany="DHL"
    )
    db.add(contact)
    await db.flush()
    await db.execute(
        update(Shipping)
        .where(Shipping.shippingId == data.shippings["a"])
        .values(
            sendingLabContactId=contact.labContactId,
            returnLabContactId=contact.labContactId,
            bltimeStamp=START,
            creationDate=START,
        )
    )
    return contact.labContactId
