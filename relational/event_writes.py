"""What beamline software writes into a session's timeline: robot actions, energy scans (and the samples they were
taken on), XRF spectra and faults. Callers have checked the session with ``reach.session_for_acquisition``."""

from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, Table, inspect, select, update
from sqlalchemy.orm import Session

from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.models import (
    BFFault,
    BLSample,
    BLSampleHasEnergyScan,
    Crystal,
    EnergyScan,
    Protein,
    RobotAction,
    XFEFluorescenceSpectrum,
)
from relational.reach import AcquisitionRule, AcquisitionTarget, lock, session_for_acquisition
from relational.scope import Scope
from schemas.errors import InvalidInput, NotFound
from schemas.event_writes import REMOTE_ENERGY, EnergyScanCreate, FaultCreate, RobotActionCreate, XrfSpectrumCreate
from schemas.times import local_now

#: RobotAction's ENUM columns as the official schema has them: the values of a database without ENUMs (SQLite)
ROBOT_ENUMS = {
    "actionType": ("LOAD", "UNLOAD", "DISPOSE", "STORE", "WASH", "ANNEAL"),
    "status": ("SUCCESS", "ERROR", "CRITICAL", "WARNING", "COMMANDNOTSENT"),
}
#: each database's RobotAction ENUM values (by URL), read once: the flavours differ (Diamond adds MOSAIC, LASER,
#: EPICSFAIL)
_robot_enums: dict[str, dict[str, tuple[str, ...]]] = {}
#: the official schema's remote-energy columns of EnergyScan, which the mapped model leaves out
_remote_energy = Table(
    "EnergyScan",
    MetaData(),
    Column("energyScanId", Integer, primary_key=True),
    *(Column(name, Float) for name in REMOTE_ENERGY),
)


def _read_robot_enums(session: Session) -> dict[str, tuple[str, ...]]:
    connection = session.connection()
    try:
        columns = inspect(connection).get_columns("RobotAction")
    finally:
        # MariaDB's reflection sets skip_user_error_events on the connection itself: without this, the rest of the
        # request (a whole test's shared connection) bypasses relational/db.py's handlers, so a text the latin1
        # columns cannot store was a 500, not a 422
        connection.execution_options(skip_user_error_events=False)
    found = {c["name"]: getattr(c["type"], "enums", None) for c in columns}
    return {name: tuple(found.get(name) or default) for name, default in ROBOT_ENUMS.items()}


async def robot_enums(db: WriteSession) -> dict[str, tuple[str, ...]]:
    """The values this database's ``RobotAction.actionType`` and ``status`` accept."""
    key = str(db.get_bind().engine.url)
    if key not in _robot_enums:
        _robot_enums[key] = await db.run_sync(_read_robot_enums)
    return _robot_enums[key]


def _enum_value(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """``value`` as the ENUM spells it (matched regardless of case); 422 naming the field and the values otherwise."""
    if value is None:
        return None
    for known in allowed:
        if known.casefold() == value.casefold():
            return known
    message = f"must be one of {', '.join(allowed)}"
    raise InvalidInput(
        f"`{field}` {message}", errors=[{"loc": ["body", field], "msg": message, "type": "enum", "input": value}]
    )


async def _check_sample(db: WriteSession, target: AcquisitionTarget, sample_id: int | None) -> None:
    """422 unless ``sample_id`` (if given) is a sample of the session's proposal."""
    if sample_id is None:
        return
    query = (
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .where(BLSample.blSampleId == sample_id, Protein.proposalId == target.proposalId)
    )
    if (await db.execute(query)).first() is None:
        message = f"is not a sample of proposal {target.proposalId}, whose session this is"
        raise InvalidInput(
            f"`blSampleId` {sample_id} {message}",
            errors=[{"loc": ["body", "blSampleId"], "msg": message, "type": "value_error", "input": sample_id}],
        )


async def add_robot_action(db: WriteSession, target: AcquisitionTarget, data: RobotActionCreate) -> int:
    """A robot action in the session; times not given are now. The new id."""
    allowed = await robot_enums(db)
    action_type = _enum_value("actionType", data.actionType, allowed["actionType"])
    status = _enum_value("status", data.status, allowed["status"])
    await _check_sample(db, target, data.blSampleId)
    now = local_now()
    start = data.startTimestamp or now
    end = data.endTimestamp or max(start, now)
    row = RobotAction(
        blsessionId=target.sessionId,
        blsampleId=data.blSampleId,
        actionType=action_type,
        status=status,
        message=data.message,
        containerLocation=data.containerLocation,
        dewarLocation=data.dewarLocation,
        sampleBarcode=data.sampleBarcode,
        startTimestamp=start,
        endTimestamp=end,
        xtalSnapshotBefore=data.xtalSnapshotBefore,
        xtalSnapshotAfter=data.xtalSnapshotAfter,
    )
    db.add(row)
    await db.flush()
    return row.robotActionId


def has_remote_energy(schema: SchemaInfo) -> bool:
    live = schema.columns.get("EnergyScan", frozenset())
    return all(name.lower() in live for name in REMOTE_ENERGY)


async def add_energy_scan(
    db: WriteSession, schema: SchemaInfo, target: AcquisitionTarget, data: EnergyScanCreate
) -> tuple[int, list[str]]:
    """An energy scan in the session: (the new id, the remote-energy keys given that this database cannot keep)."""
    await _check_sample(db, target, data.blSampleId)
    row = EnergyScan(sessionId=target.sessionId, blSampleId=data.blSampleId, **data.columns())
    db.add(row)
    await db.flush()
    remote = data.remote()
    if not remote:
        return row.energyScanId, []
    if not has_remote_energy(schema):
        return row.energyScanId, sorted(remote)
    await db.execute(update(_remote_energy).where(_remote_energy.c.energyScanId == row.energyScanId).values(remote))
    return row.energyScanId, []


async def link_energy_scan(db: WriteSession, scope: Scope, rule: AcquisitionRule, scan_id: int, sample_id: int) -> None:
    """Record that energy scan ``scan_id`` was taken on sample ``sample_id`` (once: a repeat adds nothing), and make
    it the scan's sample if it had none. 404 when the caller cannot see the scan, 403 when they may not write into
    its session, 422 when the sample is not of the session's proposal."""
    if not await lock(db, EnergyScan.energyScanId, scan_id):
        raise NotFound(f"Energy scan {scan_id} not found")
    scan = (
        await db.execute(select(EnergyScan.sessionId, EnergyScan.blSampleId).where(EnergyScan.energyScanId == scan_id))
    ).one()
    try:
        target = await session_for_acquisition(db, scope, rule, scan.sessionId)
    except NotFound:
        raise NotFound(f"Energy scan {scan_id} not found") from None
    await _check_sample(db, target, sample_id)
    if scan.blSampleId is None:
        await db.execute(update(EnergyScan).where(EnergyScan.energyScanId == scan_id).values(blSampleId=sample_id))
    linked = select(BLSampleHasEnergyScan.blSampleHasEnergyScanId).where(
        BLSampleHasEnergyScan.energyScanId == scan_id, BLSampleHasEnergyScan.blSampleId == sample_id
    )
    if (await db.execute(linked.limit(1))).first() is None:
        db.add(BLSampleHasEnergyScan(energyScanId=scan_id, blSampleId=sample_id))
        await db.flush()


async def add_xrf_spectrum(db: WriteSession, target: AcquisitionTarget, data: XrfSpectrumCreate) -> int:
    """An XRF spectrum in the session. The new id."""
    await _check_sample(db, target, data.blSampleId)
    row = XFEFluorescenceSpectrum(sessionId=target.sessionId, blSampleId=data.blSampleId, **data.columns())
    db.add(row)
    await db.flush()
    return row.xfeFluorescenceSpectrumId


async def add_fault(
    db: WriteSession, schema: SchemaInfo, target: AcquisitionTarget, data: FaultCreate, person_id: int
) -> int:
    """A fault reported in the session by ``person_id``; its start, if not given, is now. The new id."""
    if data.subcomponentId is not None and not await _subcomponent_exists(db, schema, data.subcomponentId):
        message = "is not a subcomponent of this facility's fault tree (BF_subcomponent)"
        raise InvalidInput(
            f"`subcomponentId` {data.subcomponentId} {message}",
            errors=[{"loc": ["body", "subcomponentId"], "msg": message, "type": "value_error"}],
        )
    values: dict[str, Any] = data.columns()
    values["starttime"] = values["starttime"] or local_now()
    row = BFFault(sessionId=target.sessionId, personId=person_id, **values)
    db.add(row)
    await db.flush()
    return row.faultId


_subcomponent = Table("BF_subcomponent", MetaData(), Column("subcomponentId", Integer, primary_key=True))


async def _subcomponent_exists(db: WriteSession, schema: SchemaInfo, subcomponent_id: int) -> bool:
    if not schema.has_table("BF_subcomponent"):
        return False
    query = select(_subcomponent.c.subcomponentId).where(_subcomponent.c.subcomponentId == subcomponent_id)
    return (await db.execute(query)).first() is not None
