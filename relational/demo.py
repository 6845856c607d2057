"""Demo data for the embedded default: two proposals, their people and staff, sessions on two beamlines, a
shipment down to samples, ~200 MX data collections with auto-processing, and a few EM and SAXS collections."""

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    AutoProc,
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
    BLSample,
    BLSession,
    Container,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Dewar,
    Laboratory,
    Permission,
    Person,
    Proposal,
    ProposalHasPerson,
    Protein,
    RobotAction,
    SessionHasPerson,
    Shipping,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
)
from schemas.options import BeamLine, BeamLineGroup
from schemas.times import local_now

DEMO_LOGINS = {
    "alice": "scientist of MX1",
    "bob": "scientist of MX2",
    "mxstaff": "beamline staff (i03)",
    "admin": "staff, all proposals",
}
SPACE_GROUPS = ("P212121", "P21", "C2", "P43212", "P6122", "I222")
#: the permission of the demo's beamline staff (``mxstaff``), and the beamline group that maps it to i03: the
#: embedded default's ``beamline_groups`` unless ISPYB_BEAMLINE_GROUPS says otherwise (app/settings.py)
STAFF_PERMISSION = "bl_admin"
BEAMLINE_GROUPS = [
    BeamLineGroup(groupName="MX", uiGroup="mx", permission=STAFF_PERMISSION, beamLines=[BeamLine(beamLineName="i03")])
]


async def is_seeded(db: AsyncSession) -> bool:
    return bool((await db.execute(select(func.count()).select_from(Proposal))).scalar_one())


async def seed(db: AsyncSession, mx_collections: int = 200, seed_value: int = 7) -> None:
    """Add the demo data set (flushes; the caller commits)."""
    rng = random.Random(seed_value)
    lab = Laboratory(name="Structural Biology Lab", city="Grenoble", country="France")
    db.add(lab)
    await db.flush()
    people = {
        login: Person(
            login=login,
            givenName=login.capitalize(),
            familyName="Demo",
            laboratoryId=lab.laboratoryId,
            emailAddress=f"{login}@example.org",
        )
        for login in DEMO_LOGINS
    }
    db.add_all(people.values())
    await db.flush()
    await _staff(db, people)
    now = local_now().replace(microsecond=0)
    for index, (code, number, owner) in enumerate((("MX", "1", "alice"), ("MX", "2", "bob"))):
        proposal = Proposal(
            proposalCode=code,
            proposalNumber=number,
            title=f"Demo proposal {code}{number}",
            state="Open",
            personId=people[owner].personId,
            proposalType="MX",
        )
        db.add(proposal)
        await db.flush()
        db.add(ProposalHasPerson(proposalId=proposal.proposalId, personId=people[owner].personId))
        sessions = []
        for visit, (beamline, days) in enumerate((("i03", -30), ("i03", -2), ("m02", 5)), start=1):
            start = now + timedelta(days=days + index)
            session = BLSession(
                proposalId=proposal.proposalId,
                beamLineName=beamline,
                visit_number=visit,
                startDate=start,
                endDate=start + timedelta(hours=48),
                scheduled=True,
            )
            db.add(session)
            sessions.append(session)
        await db.flush()
        for session in sessions:
            db.add(
                SessionHasPerson(
                    sessionId=session.sessionId, personId=people[owner].personId, role="Principal Investigator"
                )
            )
        samples = await _shipment(db, proposal, people[owner], rng)
        await _collections(db, sessions[:2], samples, mx_collections // 2, rng)
        await _other_techniques(db, sessions, rng)
    await db.flush()


async def _staff(db: AsyncSession, people: dict[str, Person]) -> None:
    staff = (("admin", "all_proposals", "admin"), ("mx_staff", STAFF_PERMISSION, "mxstaff"))
    for group_name, permission, login in staff:
        group, perm = UserGroup(name=group_name), Permission(type=permission, description=group_name)
        db.add_all([group, perm])
        await db.flush()
        db.add(UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=perm.permissionId))
        db.add(UserGroupHasPerson(userGroupId=group.userGroupId, personId=people[login].personId))


async def _shipment(db: AsyncSession, proposal: Proposal, owner: Person, rng: random.Random) -> list[BLSample]:
    protein = Protein(
        proposalId=proposal.proposalId,
        name="Lysozyme C",
        acronym=f"lyso{proposal.proposalNumber}",
        molecularMass=14300.0,
        personId=owner.personId,
    )
    db.add(protein)
    shipping = Shipping(
        proposalId=proposal.proposalId,
        shippingName=f"{proposal.proposalCode}{proposal.proposalNumber} run 1",
        shippingStatus="at facility",
        deliveryAgent_agentName="DHL",
    )
    db.add(shipping)
    await db.flush()
    dewar = Dewar(
        shippingId=shipping.shippingId,
        code="DEMO-MX-0001",
        barCode=f"DEMO-{proposal.proposalId:04d}-D1",
        dewarStatus="at facility",
    )
    db.add(dewar)
    await db.flush()
    samples = []
    for puck in range(2):
        container = Container(
            dewarId=dewar.dewarId,
            code=f"puck{puck + 1}",
            containerType="Unipuck",
            capacity=16,
            barcode=f"DEMO-{proposal.proposalId:04d}-P{puck + 1}",
        )
        db.add(container)
        await db.flush()
        for position in range(1, 9):
            crystal = Crystal(
                proteinId=protein.proteinId,
                spaceGroup=rng.choice(SPACE_GROUPS),
                cell_a=79.1,
                cell_b=79.1,
                cell_c=38.0,
                cell_alpha=90.0,
                cell_beta=90.0,
                cell_gamma=90.0,
            )
            db.add(crystal)
            await db.flush()
            sample = BLSample(
                crystalId=crystal.crystalId,
                containerId=container.containerId,
                name=f"xtal{puck + 1}-{position}",
                location=str(position),
            )
            db.add(sample)
            samples.append(sample)
    await db.flush()
    return samples


async def _collections(
    db: AsyncSession, sessions: list[BLSession], samples: list[BLSample], n: int, rng: random.Random
) -> None:
    for i in range(n):
        session, sample = sessions[i % len(sessions)], samples[i % len(samples)]
        assert session.startDate is not None
        start = session.startDate + timedelta(minutes=10 + 12 * i)
        db.add(
            RobotAction(
                blsessionId=session.sessionId,
                blsampleId=sample.blSampleId,
                actionType="LOAD",
                startTimestamp=start - timedelta(minutes=2),
                endTimestamp=start - timedelta(minutes=1),
                status="SUCCESS",
            )
        )
        group = DataCollectionGroup(
            sessionId=session.sessionId,
            blSampleId=sample.blSampleId,
            experimentType="OSC",
            startTime=start,
            endTime=start + timedelta(minutes=3),
        )
        db.add(group)
        await db.flush()
        resolution = round(rng.uniform(1.2, 3.2), 2)
        dc = DataCollection(
            dataCollectionGroupId=group.dataCollectionGroupId,
            sessionId=session.sessionId,
            blSampleId=sample.blSampleId,
            startTime=start,
            endTime=start + timedelta(minutes=3),
            runStatus="Data collection successful" if rng.random() > 0.05 else "Data collection failed",
            numberOfImages=3600,
            axisStart=0.0,
            axisRange=0.1,
            axisEnd=360.0,
            exposureTime=0.01,
            wavelength=0.9763,
            resolution=resolution,
            detectorDistance=250.0,
            transmission=20.0,
            xBeam=211.3,
            yBeam=218.9,
            beamSizeAtSampleX=0.05,
            beamSizeAtSampleY=0.02,
            imageDirectory=f"/data/demo/{sample.name}",
            fileTemplate=f"{sample.name}_1_master.h5",
            imagePrefix=sample.name,
            dataCollectionNumber=1,
            flux=2.1e12,
            rotationAxis="Omega",
        )
        db.add(dc)
        await db.flush()
        for program in ("xia2 dials", "fast_dp"):
            await _autoproc(db, dc, program, resolution, start, rng)


async def _autoproc(
    db: AsyncSession, dc: DataCollection, program: str, resolution: float, start: datetime, rng: random.Random
) -> None:
    app = AutoProcProgram(
        processingPrograms=program,
        processingCommandLine=f"{program} image={dc.fileTemplate}",
        processingStatus=1,
        processingStartTime=start + timedelta(minutes=4),
        processingEndTime=start + timedelta(minutes=9),
        recordTimeStamp=start,
    )
    db.add(app)
    await db.flush()
    ap = AutoProc(
        autoProcProgramId=app.autoProcProgramId,
        spaceGroup="P43212",
        refinedCell_a=79.2,
        refinedCell_b=79.2,
        refinedCell_c=37.9,
        refinedCell_alpha=90.0,
        refinedCell_beta=90.0,
        refinedCell_gamma=90.0,
    )
    db.add(ap)
    await db.flush()
    scaling = AutoProcScaling(autoProcId=ap.autoProcId)
    integration = AutoProcIntegration(
        dataCollectionId=dc.dataCollectionId,
        autoProcProgramId=app.autoProcProgramId,
        refinedXBeam=211.4,
        refinedYBeam=218.7,
        anomalous=False,
    )
    db.add_all([scaling, integration])
    await db.flush()
    db.add(
        AutoProcScalingHasInt(
            autoProcScalingId=scaling.autoProcScalingId, autoProcIntegrationId=integration.autoProcIntegrationId
        )
    )
    high = resolution + rng.uniform(0.0, 0.15)
    for shell, low, hi, rmerge, isigi, completeness in (
        ("overall", 40.0, high, rng.uniform(0.04, 0.12), rng.uniform(8, 20), rng.uniform(97, 100)),
        ("innerShell", 40.0, high * 2.7, rng.uniform(0.02, 0.06), rng.uniform(30, 60), 99.9),
        ("outerShell", high * 1.03, high, rng.uniform(0.5, 1.8), rng.uniform(0.8, 2.2), rng.uniform(90, 99)),
    ):
        db.add(
            AutoProcScalingStatistics(
                autoProcScalingId=scaling.autoProcScalingId,
                scalingStatisticsType=shell,
                resolutionLimitLow=low,
                resolutionLimitHigh=round(hi, 2),
                rMerge=round(rmerge, 3),
                meanIOverSigI=round(isigi, 1),
                completeness=round(completeness, 1),
                multiplicity=round(rng.uniform(6, 13), 1),
                ccHalf=round(rng.uniform(0.5, 0.999), 3),
                nTotalObservations=rng.randint(50_000, 400_000),
                nTotalUniqueObservations=rng.randint(8_000, 40_000),
                anomalous=False,
            )
        )


async def _other_techniques(db: AsyncSession, sessions: list[BLSession], rng: random.Random) -> None:
    em_session = sessions[2]
    assert em_session.startDate is not None
    for i in range(3):
        start = em_session.startDate + timedelta(hours=i)
        group = DataCollectionGroup(
            sessionId=em_session.sessionId,
            experimentType="EM",
            startTime=start,
            comments="Cryo-EM grid square acquisition",
        )
        db.add(group)
        await db.flush()
        db.add(
            DataCollection(
                dataCollectionGroupId=group.dataCollectionGroupId,
                sessionId=em_session.sessionId,
                startTime=start,
                endTime=start + timedelta(minutes=50),
                runStatus="Successful",
                numberOfImages=rng.randint(800, 1500),
                magnification=105000,
                voltage=300.0,
                binning=1,
                particleDiameter=12.0,
                imageDirectory=f"/data/demo/em/grid{i + 1}",
            )
        )
    saxs_session = sessions[1]
    assert saxs_session.startDate is not None
    for i in range(3):
        start = saxs_session.startDate + timedelta(hours=30, minutes=5 * i)
        group = DataCollectionGroup(sessionId=saxs_session.sessionId, startTime=start, comments="SAXS measurement")
        db.add(group)
        await db.flush()
        db.add(
            DataCollection(
                dataCollectionGroupId=group.dataCollectionGroupId,
                sessionId=saxs_session.sessionId,
                startTime=start,
                endTime=start + timedelta(minutes=2),
                runStatus="Successful",
                numberOfImages=10,
                exposureTime=1.0,
                wavelength=0.99,
                detectorDistance=2870.0,
                comments="SAXS: 10 frames, buffer-subtracted",
                imageDirectory=f"/data/demo/saxs/meas{i + 1}",
            )
        )


async def collections_by_technique(db: AsyncSession) -> dict[str, list[dict[str, object]]]:
    """The demo's EM and SAXS collections (the SAXS ones by their comment), for the document seed."""
    query = (
        select(
            DataCollection.dataCollectionId,
            DataCollection.startTime,
            DataCollection.numberOfImages,
            DataCollectionGroup.experimentType,
            DataCollection.comments,
            BLSession.sessionId,
            BLSession.proposalId,
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
    )
    out: dict[str, list[dict[str, object]]] = {"em": [], "saxs": []}
    for row in (await db.execute(query)).mappings():
        if row["experimentType"] == "EM":
            out["em"].append(dict(row))
        elif (row["comments"] or "").startswith("SAXS"):
            out["saxs"].append(dict(row))
    return out
