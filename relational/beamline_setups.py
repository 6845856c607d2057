"""What a beamline says of itself: its setup (MXCuBE's beamline config → BeamLineSetup) and its detectors, and
who may store a setup (it names no session)."""

import math
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import BeamLineSetup, BLSession, Detector
from relational.reach import AcquisitionRule
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.acquisition import BeamlineConfig, Undulator
from schemas.errors import Forbidden, InvalidInput
from schemas.times import local_now


async def may_describe_beamlines(db: ReadSession, scope: Scope, rule: AcquisitionRule) -> None:
    """Who may store a beamline setup (it names no session): staff (every proposal or a beamline group), holders
    of the acquisition permission, and, where members may write acquisition records, members of some session;
    Forbidden otherwise."""
    if scope.is_staff or rule.any_session:
        return
    if rule.members and (await db.execute(select(BLSession.sessionId).where(scope.sessions()).limit(1))).first():
        return
    raise Forbidden("You may not store beamline setups")


def _setup_values(data: BeamlineConfig) -> dict[str, Any]:
    undulators = [u.type if isinstance(u, Undulator) else u for u in data.undulators or []] + [None, None, None]
    return {
        "synchrotronName": data.synchrotron_name,
        "synchrotronMode": data.synchrotronMode,
        "undulatorType1": undulators[0],
        "undulatorType2": undulators[1],
        "undulatorType3": undulators[2],
        "monochromatorType": data.monochromator_type,
        "focusingOptic": data.focusing_optic,
        "beamDivergenceVertical": data.beam_divergence_vertical,
        "beamDivergenceHorizontal": data.beam_divergence_horizontal,
        "polarisation": data.polarisation,
        "minExposureTimePerImage": data.minimum_exposure_time,
        "goniostatMaxOscillationSpeed": data.maximum_phi_speed,
        "goniostatMinOscillationWidth": data.minimum_phi_oscillation,
    }


def _same(stored: Any, sent: Any) -> bool:
    if isinstance(stored, float) and isinstance(sent, float):
        return math.isclose(stored, sent, rel_tol=1e-6)  # FLOAT columns keep 7 digits
    return bool(stored == sent)


async def store_beamline_setup(db: AsyncSession, data: BeamlineConfig) -> int:
    """The setup's id: the row ``beamlineSetupId`` names when it holds the same values, else a new row."""
    values = _setup_values(data)
    if data.beamlineSetupId is not None:
        columns = [getattr(BeamLineSetup, name) for name in values]
        query = select(*columns).where(BeamLineSetup.beamLineSetupId == data.beamlineSetupId)
        row = (await db.execute(query)).mappings().first()
        if row is not None and all(_same(row[name], value) for name, value in values.items()):
            return data.beamlineSetupId
    setup = BeamLineSetup(**values, setupDate=local_now())
    db.add(setup)
    await db.flush()
    return setup.beamLineSetupId


async def associate_setup(db: AsyncSession, session_id: int, setup_id: int) -> None:
    """Link the session to an existing beamline setup."""
    found = await db.execute(select(BeamLineSetup.beamLineSetupId).where(BeamLineSetup.beamLineSetupId == setup_id))
    if found.first() is None:
        raise InvalidInput(f"`beamLineSetupId`: beamline setup {setup_id} does not exist")
    await db.execute(update(BLSession).where(BLSession.sessionId == session_id).values(beamLineSetupId=setup_id))


async def find_detector(
    db: ReadSession, manufacturer: str | None, model: str | None, mode: str | None, type_: str | None
) -> dict[str, Any] | None:
    """The first detector matching every non-empty criterion, case-insensitively."""
    query = select(Detector).order_by(Detector.detectorId).limit(1)
    for column, wanted in (
        (Detector.detectorManufacturer, manufacturer),
        (Detector.detectorModel, model),
        (Detector.detectorMode, mode),
        (Detector.detectorType, type_),
    ):
        if wanted:
            query = query.where(func.lower(column) == wanted.lower())
    found = (await db.execute(query)).scalar_one_or_none()
    if found is None:
        return None
    return {c.key: getattr(found, c.key) for c in Detector.__table__.columns}
