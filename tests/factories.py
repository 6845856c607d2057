"""Test data written through the mapped models (proving writes on each flavour): two proposals with a
scientist each, a beamline-staff member, an all-proposals admin, sessions, collections and processing."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.db import Database
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

BEAMLINE_A, BEAMLINE_B = "tb01", "tb02"
STAFF_PERMISSION = "tb_staff"


@dataclass
class Dataset:
    persons: dict[str, int] = field(default_factory=dict)
    proposals: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    dcs: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    shippings: dict[str, int] = field(default_factory=dict)
    dewars: dict[str, int] = field(default_factory=dict)
    containers: dict[str, int] = field(default_factory=dict)
    proteins: dict[str, int] = field(default_factory=dict)


async def _grant(db: AsyncSession, person: Person, permission: str) -> None:
    group, perm = UserGroup(name=f"t_{permission}"[:31]), Permission(type=permission)
    db.add_all([group, perm])
    await db.flush()
    db.add_all(
        [
            UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=perm.permissionId),
            UserGroupHasPerson(userGroupId=group.userGroupId, personId=person.personId),
        ]
    )


#: what the `manager` role holds: py-ispyb's administration permissions (the dumps list some of them already)
MANAGER_PERMISSIONS = ("manage_options", "manage_groups", "manage_perms", "view_activity")


async def _grant_existing(db: AsyncSession, person: Person, group_name: str, permissions: tuple[str, ...]) -> None:
    """One group giving ``person`` these permissions, each the dump's own row where it has one."""
    group = UserGroup(name=group_name)
    db.add(group)
    await db.flush()
    for permission in permissions:
        query = text("SELECT permissionId FROM Permission WHERE type = :t")
        found = (await db.execute(query, {"t": permission})).first()
        if found is None:
            perm = Permission(type=permission)
            db.add(perm)
            await db.flush()
            permission_id = perm.permissionId
        else:
            permission_id = found[0]
        db.add(UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=permission_id))
    db.add(UserGroupHasPerson(userGroupId=group.userGroupId, personId=person.personId))


async def build(db: AsyncSession, tag: str) -> Dataset:
    """Create the data set; ``tag`` keeps logins and names unique per flavour database."""
    ds = Dataset()
    people = {
        role: Person(login=f"{role}_{tag}", givenName=role, familyName="Test")
        for role in ("sci_a", "sci_b", "staff", "admin", "nobody", "promoted", "pipeline", "office", "manager")
    }
    db.add_all(people.values())
    await db.flush()
    ds.persons = {role: p.personId for role, p in people.items()}
    await _grant(db, people["staff"], STAFF_PERMISSION)
    await _grant(db, people["admin"], "all_proposals")
    await _grant(db, people["pipeline"], "pipeline_write")
    await _grant(db, people["office"], "uportal_sync")
    await _grant_existing(db, people["manager"], "t_manager", MANAGER_PERMISSIONS)
    start = datetime(2024, 3, 1, 8, 0)
    for key, beamline, number in (("a", BEAMLINE_A, "7001"), ("b", BEAMLINE_B, "7002")):
        owner = people[f"sci_{key}"]
        proposal = Proposal(
            proposalCode="zz",
            proposalNumber=f"{number}{len(tag)}",
            title=f"Proposal {key} {tag}",
            state="Open",
            personId=owner.personId,
        )
        db.add(proposal)
        await db.flush()
        ds.proposals[key] = f"zz{number}{len(tag)}"
        db.add(ProposalHasPerson(proposalId=proposal.proposalId, personId=owner.personId))
        session = BLSession(
            proposalId=proposal.proposalId,
            beamLineName=beamline,
            visit_number=1,
            startDate=start,
            endDate=start + timedelta(hours=24),
            scheduled=True,
        )
        db.add(session)
        await db.flush()
        ds.sessions[key] = session.sessionId
        db.add(SessionHasPerson(sessionId=session.sessionId, personId=owner.personId, role="Co-Investigator"))
        protein = Protein(proposalId=proposal.proposalId, acronym=f"prot{key}", name="protein")
        shipping = Shipping(proposalId=proposal.proposalId, shippingName=f"ship {key}")
        db.add_all([protein, shipping])
        await db.flush()
        dewar = Dewar(shippingId=shipping.shippingId, code=f"dewar-{key}-{tag}", barCode=f"BC-{key}-{tag}")
        db.add(dewar)
        await db.flush()
        container = Container(
            dewarId=dewar.dewarId, code=f"puck-{key}", containerType="Unipuck", capacity=16, barcode=f"PK-{key}-{tag}"
        )
        crystal = Crystal(proteinId=protein.proteinId, spaceGroup="P21")
        db.add_all([container, crystal])
        await db.flush()
        sample = BLSample(
            containerId=container.containerId, crystalId=crystal.crystalId, name=f"sample-{key}", location="1"
        )
        db.add(sample)
        await db.flush()
        ds.samples[key] = sample.blSampleId
        ds.shippings[key], ds.dewars[key] = shipping.shippingId, dewar.dewarId
        ds.containers[key], ds.proteins[key] = container.containerId, protein.proteinId
        group = DataCollectionGroup(
            sessionId=session.sessionId,
            blSampleId=sample.blSampleId,
            experimentType="OSC",
            startTime=start + timedelta(hours=1),
        )
        db.add(group)
        await db.flush()
        ds.groups[key] = group.dataCollectionGroupId
        for i in range(2):
            dc = DataCollection(
                dataCollectionGroupId=group.dataCollectionGroupId,
                sessionId=session.sessionId,
                blSampleId=sample.blSampleId,
                runStatus="Data collection successful",
                startTime=start + timedelta(hours=1, minutes=10 * i),
                endTime=start + timedelta(hours=1, minutes=10 * i + 5),
                wavelength=0.9763,
                resolution=1.8,
                numberOfImages=1800,
                imagePrefix=f"s{key}{i}",
            )
            db.add(dc)
            await db.flush()
            ds.dcs[f"{key}{i}"] = dc.dataCollectionId
        db.add(
            RobotAction(
                blsessionId=session.sessionId,
                blsampleId=sample.blSampleId,
                actionType="LOAD",
                status="SUCCESS",
                startTimestamp=start + timedelta(minutes=50),
                endTimestamp=start + timedelta(minutes=51),
            )
        )
        await _processing(db, ds.dcs[f"{key}0"])
    await db.flush()
    return ds


async def _processing(db: AsyncSession, dc_id: int) -> None:
    program = AutoProcProgram(
        processingPrograms="xia2 dials", processingStatus=1, processingStartTime=datetime(2024, 3, 1, 9, 30)
    )
    db.add(program)
    await db.flush()
    auto_proc = AutoProc(autoProcProgramId=program.autoProcProgramId, spaceGroup="P21", refinedCell_a=40.1)
    db.add(auto_proc)
    await db.flush()
    scaling = AutoProcScaling(autoProcId=auto_proc.autoProcId)
    integration = AutoProcIntegration(dataCollectionId=dc_id, autoProcProgramId=program.autoProcProgramId)
    db.add_all([scaling, integration])
    await db.flush()
    db.add(
        AutoProcScalingHasInt(
            autoProcScalingId=scaling.autoProcScalingId, autoProcIntegrationId=integration.autoProcIntegrationId
        )
    )
    for shell, high in (("overall", 1.8), ("innerShell", 5.4), ("outerShell", 1.8)):
        db.add(
            AutoProcScalingStatistics(
                autoProcScalingId=scaling.autoProcScalingId,
                scalingStatisticsType=shell,
                resolutionLimitLow=40.0,
                resolutionLimitHigh=high,
                rMerge=0.05,
                completeness=99.1,
                multiplicity=6.5,
                meanIOverSigI=12.0,
                ccHalf=0.99,
            )
        )


async def add_session_with_group(
    db: AsyncSession, person_id: int, tag: str, end: datetime, member: bool = False
) -> int:
    """A session (no visit number) of a proposal of its own (``person_id`` on it if ``member``), ending at
    ``end``, with one collection group; the group's id."""
    proposal = Proposal(personId=person_id, proposalCode="cnt", proposalNumber=tag, title="count cache")
    db.add(proposal)
    await db.flush()
    if member:
        db.add(ProposalHasPerson(proposalId=proposal.proposalId, personId=person_id))
    session = BLSession(
        proposalId=proposal.proposalId, beamLineName="tb09", startDate=end - timedelta(days=1), endDate=end
    )
    db.add(session)
    await db.flush()
    group = DataCollectionGroup(sessionId=session.sessionId, experimentType="OSC")
    db.add(group)
    await db.flush()
    return group.dataCollectionGroupId


async def add_collection(db: AsyncSession, group_id: int) -> tuple[int, int]:
    """A new collection in the group: (session id, collection id)."""
    dc = DataCollection(dataCollectionGroupId=group_id, runStatus="Data collection successful")
    db.add(dc)
    await db.flush()
    group = await db.get(DataCollectionGroup, group_id)
    assert group is not None
    return group.sessionId, dc.dataCollectionId


async def build_embedded(url: str) -> Dataset:
    """The data set in a new embedded SQLite file at ``url`` (its schema created first), committed."""
    database = Database(url)
    try:
        await database.start()
        async with database.sessions() as db:
            data = await build(db, "embedded")
            await db.commit()
            return data
    finally:
        await database.dispose()


async def insert(db: AsyncSession, sql: str, **values: object) -> int:
    """Run one INSERT statement in SQL (``values``: its parameters); the new row's id."""
    result = await db.execute(text(sql), values)
    assert isinstance(result, CursorResult)  # what an INSERT gives: the cursor's lastrowid
    return int(result.lastrowid)


async def count(db: AsyncSession, query: Any) -> int:
    """The single number a counting ``query`` gives."""
    return int((await db.execute(query)).scalar_one())


async def count_at(url: str, query: Any) -> int:
    """The single number a counting ``query`` gives, read on a connection of its own (a server's commits)."""
    database = Database(url)
    try:
        async with database.sessions() as db:
            return await count(db, query)
    finally:
        await database.dispose()
