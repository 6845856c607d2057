"""MXCuBE's real, unchanged PyISPyB client drives a whole beamline visit against a real server of ours, on both
flavours; then the SQL rows are read back and compared with what MXCuBE sent.

The client (mxcubecore, with its own pins) lives in a venv of its own: ``ISPYB_MXCUBE_PYTHON`` (default
``.venv-mxcube/bin/python``) runs tests/mxcube_driver.py as a subprocess against uvicorn serving our app in a thread
of this process, on a free 127.0.0.1 port and the flavour's database for committing tests. Every HTTP call the
client makes is recorded with its status and printed (``-s``) for the record.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    BeamLineSetup,
    BLSample,
    BLSampleHasEnergyScan,
    BLSession,
    DataCollection,
    DataCollectionGroup,
    EnergyScan,
    Image,
    Person,
    RobotAction,
    XFEFluorescenceSpectrum,
)
from tests import factories
from tests.conftest import Flavour
from tests.mxcube_harness import BEAMLINE, MXCUBE_PYTHON, SLOT, Recorder, Visit, add_visit, drive, report, serving
from tests.test_auth import idp_token

pytestmark = pytest.mark.skipif(
    not MXCUBE_PYTHON.exists(),
    reason=f"MXCuBE's client is not installed: no {MXCUBE_PYTHON} (set ISPYB_MXCUBE_PYTHON, or create .venv-mxcube "
    "with `pip install -r tests/mxcube-requirements.txt` as the README says)",
)


def _errors(steps: dict[str, Any]) -> dict[str, str]:
    return {name: outcome["error"] for name, outcome in steps.items() if "error" in outcome}


def _local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - MXCuBE's naive local times, as stored


def _row(flavour: Flavour, model: Any, key: Any, value: int) -> dict[str, Any]:
    """One row of ``model`` as a column dict (its mapped columns)."""

    async def read(db: AsyncSession) -> dict[str, Any]:
        columns = [c for c in model.__table__.columns]
        found = (await db.execute(select(*columns).where(key == value))).mappings().one()
        return dict(found)

    return flavour.run(read)


def _count(flavour: Flavour, query: Any) -> int:
    async def read(db: AsyncSession) -> int:
        return await factories.count(db, query)

    return flavour.run(read)


def _same(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The columns whose stored value differs from what was sent: {column: (stored, sent)}; floats compared at
    single precision (the float columns of both flavours)."""
    wrong = {}
    for column, sent in expected.items():
        stored = row[column]
        if isinstance(sent, float) and isinstance(stored, (int, float)):
            if stored != pytest.approx(sent, rel=1e-6):
                wrong[column] = (stored, sent)
        elif stored != sent:
            wrong[column] = (stored, sent)
    return wrong


def _check_session(flavour: Flavour, visit: Visit, session_id: int) -> None:
    query = select(func.count()).select_from(BLSession).where(BLSession.proposalId == visit.proposal_id)
    assert _count(flavour, query) == 1, "a second login the same day created another session"
    row = _row(flavour, BLSession, BLSession.sessionId, session_id)
    today = datetime.combine(date.today(), datetime.min.time())  # noqa: DTZ011 - MXCuBE's local midnight
    expected = {
        "beamLineName": BEAMLINE,
        "startDate": today,
        "endDate": today + timedelta(days=2, hours=7, minutes=59, seconds=59),
        "comments": "Session created by the BCM",
    }
    assert _same(row, expected) == {} and not row["scheduled"] and row["visit_number"] is not None


def _check_collection(flavour: Flavour, visit: Visit, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    dc = sent["collection"]
    collection_id: int = dc["collection_id"]
    group_id = sent["group"]["dataCollectionGroupId"]
    assert steps["store_data_collection"]["result"] == [collection_id, visit.detector_id]
    assert steps["update_data_collection"]["result"] == [collection_id, group_id]
    assert steps["finalize_data_collection"]["result"] == [collection_id, group_id]
    osc = dc["oscillation_sequence"][0]
    expected = {
        "dataCollectionGroupId": group_id,
        "sessionId": int(sent["session_id"]),
        "blSampleId": visit.sample_id,
        "detectorId": visit.detector_id,
        "runStatus": "Data collection successful",
        "comments": dc["comments"],
        "startTime": _local(dc["collection_start_time"]),
        "axisStart": osc["start"],
        "axisEnd": osc["start"] + (osc["range"] + osc["offset"]) * osc["number_of_images"],
        "axisRange": osc["range"],
        "overlap": -osc["offset"],
        "numberOfImages": osc["number_of_images"],
        "startImageNumber": osc["start_image_number"],
        "numberOfPasses": osc["number_of_passes"],
        "exposureTime": osc["exposure_time"],
        "kappaStart": osc["kappaStart"],
        "phiStart": osc["phiStart"],
        "rotationAxis": "Phi",
        "imageDirectory": dc["fileinfo"]["directory"],
        "imagePrefix": dc["fileinfo"]["prefix"],
        "fileTemplate": dc["fileinfo"]["template"],
        "dataCollectionNumber": dc["fileinfo"]["run_number"],
        "centeringMethod": dc["centringMethod"],
        "actualCenteringPosition": dc["actualCentringPosition"],
        **{
            k: dc[k]
            for k in (
                "wavelength",
                "resolution",
                "resolutionAtCorner",
                "detectorDistance",
                "transmission",
                "xBeam",
                "yBeam",
                "beamSizeAtSampleX",
                "beamSizeAtSampleY",
                "beamShape",
                "slitGapHorizontal",
                "slitGapVertical",
                "synchrotronMode",
                "flux",
                "flux_end",
                "undulatorGap1",
                "totalAbsorbedDose",
                "xtalSnapshotFullPath1",
                "xtalSnapshotFullPath2",
            )
        },
    }
    row = _row(flavour, DataCollection, DataCollection.dataCollectionId, collection_id)
    assert _same(row, expected) == {}
    assert row["endTime"] is not None
    in_group = select(func.count()).select_from(DataCollection).where(DataCollection.dataCollectionGroupId == group_id)
    assert _count(flavour, in_group) == 2, "an update inserted another collection"
    group = _row(flavour, DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId, group_id)
    expected_group = {
        "sessionId": int(sent["session_id"]),
        "blSampleId": visit.sample_id,
        "experimentType": "OSC",
        "actualSampleBarcode": dc["actualSampleBarcode"],
        "actualContainerBarcode": dc["actualContainerBarcode"],
        "actualSampleSlotInContainer": dc["actualSampleSlotInContainer"],
        "actualContainerSlotInSC": dc["actualContainerSlotInSC"],
    }
    assert _same(group, expected_group) == {}
    second = sent["second_collection"]
    assert steps["finalize_second_collection"]["result"] == [second["collection_id"], group_id]
    row = _row(flavour, DataCollection, DataCollection.dataCollectionId, second["collection_id"])
    assert (row["dataCollectionGroupId"], row["runStatus"], row["fileTemplate"]) == (
        group_id,
        "Failed",
        "lyso_1_3_%05d.cbf",
    )
    groups = (
        select(func.count())
        .select_from(DataCollectionGroup)
        .where(DataCollectionGroup.sessionId == int(sent["session_id"]))
    )
    assert _count(flavour, groups) == 1, "an update created another group"
    got = steps["get_data_collection"]["result"]
    assert got["startTime"] == dc["collection_start_time"] and got["endTime"]


def _check_setup(flavour: Flavour, sent: dict[str, Any]) -> None:
    config = sent["bl_config"]
    setup_id = config["beamlineSetupId"]
    assert isinstance(setup_id, str) and setup_id.isdigit(), setup_id
    assert sent["setup_ids"] == [setup_id, setup_id], "the unchanged setup of the second collection is a new row"
    row = _row(flavour, BeamLineSetup, BeamLineSetup.beamLineSetupId, int(setup_id))
    expected = {
        "synchrotronName": config["synchrotron_name"],
        "synchrotronMode": config["synchrotronMode"],
        "monochromatorType": config["monochromator_type"],
        "focusingOptic": config["focusing_optic"],
        "beamDivergenceVertical": config["beam_divergence_vertical"],
        "beamDivergenceHorizontal": config["beam_divergence_horizontal"],
        "polarisation": config["polarisation"],
        "minExposureTimePerImage": config["minimum_exposure_time"],
    }
    assert _same(row, expected) == {} and row["setupDate"] is not None


def _check_images(flavour: Flavour, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    collection_id = sent["collection"]["collection_id"]
    ids = [steps[f"store_image_{i}"]["result"] for i in range(len(sent["images"]))]
    assert all(isinstance(i, int) and i > 0 for i in ids), ids
    for image_id, image in zip(ids, sent["images"], strict=True):
        row = _row(flavour, Image, Image.imageId, image_id)
        expected = {k: v for k, v in image.items() if k != "dataCollectionId"} | {"dataCollectionId": collection_id}
        assert _same(row, expected) == {}
    of_collection = select(func.count()).select_from(Image).where(Image.dataCollectionId == collection_id)
    assert _count(flavour, of_collection) == len(ids)


def _check_events(flavour: Flavour, visit: Visit, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    session_id = int(sent["session_id"])
    robot_id = steps["store_robot_action"]["result"]
    assert isinstance(robot_id, str) and robot_id.isdigit(), robot_id
    robot = sent["robot_action"]
    expected_robot = {
        "blsessionId": session_id,
        "blsampleId": visit.sample_id,
        "actionType": robot["actionType"],
        "status": robot["status"],
        "containerLocation": robot["containerLocation"],
        "dewarLocation": robot["dewarLocation"],
        "sampleBarcode": robot["sampleBarcode"],
        "startTimestamp": _local(robot["startTimestamp"]),
        "endTimestamp": _local(robot["endTimestamp"]),
    }
    assert _same(_row(flavour, RobotAction, RobotAction.robotActionId, int(robot_id)), expected_robot) == {}

    scan_id = steps["store_energy_scan"]["result"]["energyScanId"]
    assert isinstance(scan_id, str) and scan_id.isdigit(), scan_id
    scan = sent["energy_scan"]
    no_column = {"edge", "directory", "prefix", "eroi_min", "eroi_max", "findattEnergy", "atomic_nb", "remoteEnergy"}
    expected_scan = {k: v for k, v in scan.items() if k not in no_column} | {
        "sessionId": session_id,
        "startTime": _local(scan["startTime"]),
        "endTime": _local(scan["endTime"]),
    }
    row = _row(flavour, EnergyScan, EnergyScan.energyScanId, int(scan_id))
    assert _same(row, expected_scan) == {}
    if flavour.name == "official":  # remoteEnergy: a column of the official flavour only (not mapped: read it raw)
        remote = _scalar(flavour, text("SELECT remoteEnergy FROM EnergyScan WHERE energyScanId = :i"), i=int(scan_id))
        assert remote == pytest.approx(scan["remoteEnergy"], rel=1e-6)
    linked = (
        select(func.count())
        .select_from(BLSampleHasEnergyScan)
        .where(BLSampleHasEnergyScan.energyScanId == int(scan_id), BLSampleHasEnergyScan.blSampleId == visit.sample_id)
    )
    assert _count(flavour, linked) == 1
    assert steps["associate_bl_sample_and_energy_scan"]["result"] != -1

    xrf_id = steps["store_xfe_spectrum"]["result"]["xfeFluorescenceSpectrumId"]
    assert isinstance(xrf_id, str) and xrf_id.isdigit(), xrf_id
    xrf = sent["xrf"]
    expected_xrf = xrf | {
        "sessionId": session_id,
        "startTime": _local(xrf["startTime"]),
        "endTime": _local(xrf["endTime"]),
    }
    row = _row(flavour, XFEFluorescenceSpectrum, XFEFluorescenceSpectrum.xfeFluorescenceSpectrumId, int(xrf_id))
    assert _same(row, expected_xrf) == {}


def _scalar(flavour: Flavour, query: Any, **values: object) -> Any:
    async def read(db: AsyncSession) -> Any:
        return (await db.execute(query, values)).scalar_one()

    return flavour.run(read)


def _check_sample(flavour: Flavour, visit: Visit, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    sample = sent["sample"]
    row = _row(flavour, BLSample, BLSample.blSampleId, visit.sample_id)
    expected = {
        "name": sample["name"],
        "code": sample["code"],
        "lastKnownCenteringPosition": sample["lastKnownCentringPosition"],
    }
    assert _same(row, expected) == {}
    assert steps["update_bl_sample"]["result"]["blSampleId"] == visit.sample_id
    for step in ("get_samples", "get_samples_after_refresh"):
        listed = steps[step]["result"]
        assert [s["sampleId"] for s in listed] == [visit.sample_id], step
        shown = listed[0]
        assert (shown["containerCode"], shown["containerSampleChangerLocation"]) == ("puck-7", str(SLOT))
        assert (shown["crystalSpaceGroup"], shown["proteinAcronym"], shown["cellA"]) == ("P43212", "lyso", 79.1)
        assert (shown["diffractionPlan"], shown["sampleLocation"]) == (visit.plan_id, "3")


def _check_refresh(rest_root: str, recorder: Recorder, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    """The client refreshed once (200) and went on; a used refresh token is refused and revokes its family."""
    refreshes = [c.status for c in recorder.calls if c.path.endswith("/auth/refresh")]
    assert refreshes == [200] and steps["refresh"]["result"] == {"rotated": True}, refreshes
    used, latest = sent["refresh_tokens"]
    again = httpx.post(f"{rest_root}auth/refresh", json={"refreshToken": used}, timeout=20)
    assert again.status_code == 401, f"used refresh token: {again.status_code} {again.text}"
    latest_answer = httpx.post(f"{rest_root}auth/refresh", json={"refreshToken": latest}, timeout=20)
    assert latest_answer.status_code == 401, (
        f"latest of a revoked family: {latest_answer.status_code} {latest_answer.text}"
    )


def _check_session_page(rest_root: str, idp: str, sent: dict[str, Any], steps: dict[str, Any]) -> None:
    """What MXCuBE wrote shows on the session's page (``GET /events``): the group with its two collections, the
    robot action, the energy scan and the XRF spectrum."""
    token = httpx.post(f"{rest_root}auth/login", json={"plugin": "keycloak", "login": "", "token": idp}, timeout=20)
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    r = httpx.get(f"{rest_root}events", params={"sessionId": sent["session_id"]}, headers=headers, timeout=20)
    assert r.status_code == 200, r.text
    shown = sorted((e["type"], e["id"], e["count"]) for e in r.json()["results"])
    expected = [
        ("dc", sent["second_collection"]["collection_id"], 2),  # py-ispyb's group event: its latest collection
        ("es", int(steps["store_energy_scan"]["result"]["energyScanId"]), 1),
        ("robot", int(steps["store_robot_action"]["result"]), 1),
        ("xrf", int(steps["store_xfe_spectrum"]["result"]["xfeFluorescenceSpectrumId"]), 1),
    ]
    assert shown == expected


@pytest.mark.commits
@pytest.mark.parametrize("how", ["permission", "members"])
def test_a_beamline_visit_through_mxcubes_client(
    flavour: Flavour, oidc_key: rsa.RSAPrivateKey, tmp_path: Path, how: str
) -> None:
    """The user may write into their session because they hold the acquisition permission, or because the
    facility lets proposal members write (``acquisition_by_members``)."""
    tag = uuid.uuid4().hex
    permission = flavour.settings.acquisition_permission if how == "permission" else None
    visit = flavour.run(add_visit, tag, permission)
    extra = {"acquisition_by_members": how == "members", "refresh_grace_seconds": 0}
    with serving(flavour, oidc_key, **extra) as (rest_root, recorder):
        out = drive(
            rest_root,
            idp_token(oidc_key, visit.login),
            "visit",
            tmp_path,
            proposal_id=visit.proposal_id,
            sample_id=visit.sample_id,
            container_slot=SLOT,
            detector=visit.detector,
        )
        steps, sent = out["steps"], out["sent"]
        report(f"{flavour.name}/{how}", recorder, steps)
        failed = [f"{c.status} {c.method} {c.path}" for c in recorder.calls if c.status not in (200, 201)]
        problems = [f"adapter {name}: {error}" for name, error in _errors(steps).items()] + failed
        session_id = int(sent["session_id"])
        checks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
            (_check_session, (flavour, visit, session_id)),
            (_check_setup, (flavour, sent)),
            (_check_collection, (flavour, visit, sent, steps)),
            (_check_images, (flavour, sent, steps)),
            (_check_events, (flavour, visit, sent, steps)),
            (_check_sample, (flavour, visit, sent, steps)),
            (_check_refresh, (rest_root, recorder, sent, steps)),
            (_check_session_page, (rest_root, idp_token(oidc_key, visit.login), sent, steps)),
        ]
        for check, args in checks:  # every check runs, so one failure does not hide the others
            try:
                check(*args)
            except (AssertionError, KeyError, TypeError, ValueError) as exc:
                problems.append(f"{check.__name__}: {type(exc).__name__} {exc}")
        assert problems == [], "\n".join(problems)


def _written(flavour: Flavour, session_id: int, collection_id: int, sample_id: int) -> tuple[Any, ...]:
    """What an outsider could have written into a session: its groups, collections, images, robot actions,
    energy scans, spectra, and the sample's row."""

    async def read(db: AsyncSession) -> tuple[Any, ...]:
        counts = []
        for model, column in (
            (DataCollectionGroup, DataCollectionGroup.sessionId),
            (RobotAction, RobotAction.blsessionId),
            (EnergyScan, EnergyScan.sessionId),
            (XFEFluorescenceSpectrum, XFEFluorescenceSpectrum.sessionId),
        ):
            counts.append(
                await factories.count(db, select(func.count()).select_from(model).where(column == session_id))
            )
        in_session = select(DataCollectionGroup.dataCollectionGroupId).where(
            DataCollectionGroup.sessionId == session_id
        )
        collections = (
            select(func.count()).select_from(DataCollection).where(DataCollection.dataCollectionGroupId.in_(in_session))
        )
        counts.append(await factories.count(db, collections))
        counts.append(
            await factories.count(
                db, select(func.count()).select_from(Image).where(Image.dataCollectionId == collection_id)
            )
        )
        status = (
            await db.execute(select(DataCollection.runStatus).where(DataCollection.dataCollectionId == collection_id))
        ).scalar()
        sample = (await db.execute(select(BLSample.name, BLSample.code).where(BLSample.blSampleId == sample_id))).one()
        return (*counts, status, tuple(sample))

    return flavour.run(read)


@pytest.mark.commits
def test_an_outsiders_client_writes_nothing(flavour: Flavour, oidc_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    """A person with no proposal and no permission drives MXCuBE at proposal a's session, collection and sample:
    every write is refused (404), nothing is written, no session is created for them."""
    tag = uuid.uuid4().hex

    async def outsider(db: AsyncSession) -> str:
        person = Person(login=f"mx_out_{tag}", givenName="Out", familyName="Sider")
        db.add(person)
        await db.flush()
        return person.login or ""

    login = flavour.run(outsider)
    session_id, collection_id = flavour.data.sessions["a"], flavour.data.dcs["a0"]
    sample_id = flavour.data.samples["a"]
    before = _written(flavour, session_id, collection_id, sample_id)
    sessions_before = _count(flavour, select(func.count()).select_from(BLSession))
    with serving(flavour, oidc_key, acquisition_by_members=True) as (rest_root, recorder):
        proposal_id = _scalar(flavour, select(BLSession.proposalId).where(BLSession.sessionId == session_id))
        out = drive(
            rest_root,
            idp_token(oidc_key, login),
            "outsider",
            tmp_path,
            session_id=session_id,
            collection_id=collection_id,
            sample_id=sample_id,
            proposal_id=proposal_id,
        )
        report(f"{flavour.name}/outsider", recorder, out["steps"])
    assert _written(flavour, session_id, collection_id, sample_id) == before
    assert _count(flavour, select(func.count()).select_from(BLSession)) == sessions_before
    writes = [c for c in recorder.calls if c.method in ("POST", "PATCH") and "/auth/" not in c.path]
    assert writes and {c.status for c in writes} == {404}, [(c.path, c.status) for c in writes]
    assert out["steps"]["get_sessions_by_username"]["result"]["sessions"] == []


@pytest.mark.commits
def test_a_member_without_acquisition_rights_writes_nothing(
    flavour: Flavour, oidc_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """A member of the proposal, without the acquisition permission, where members may not write acquisition
    records (the default): MXCuBE's writes into the member's own session are refused (403: they see it) and
    nothing is written; the sample update stays theirs (members edit their samples, as py-ispyb-ui does)."""
    visit = flavour.run(add_visit, uuid.uuid4().hex, None)

    async def session_with_collection(db: AsyncSession) -> tuple[int, int]:
        start = datetime.combine(date.today(), datetime.min.time())  # noqa: DTZ011 - local midnight
        session = BLSession(
            proposalId=visit.proposal_id, beamLineName=BEAMLINE, startDate=start, endDate=start + timedelta(days=1)
        )
        db.add(session)
        await db.flush()
        return session.sessionId, (await factories.add_collection(db, await _group(db, session.sessionId)))[1]

    session_id, collection_id = flavour.run(session_with_collection)
    before = _written(flavour, session_id, collection_id, visit.sample_id)
    with serving(flavour, oidc_key, acquisition_by_members=False) as (rest_root, recorder):
        out = drive(
            rest_root,
            idp_token(oidc_key, visit.login),
            "outsider",
            tmp_path,
            session_id=session_id,
            collection_id=collection_id,
            sample_id=visit.sample_id,
            proposal_id=visit.proposal_id,
        )
        report(f"{flavour.name}/member without rights", recorder, out["steps"])
    assert _written(flavour, session_id, collection_id, visit.sample_id)[:-1] == before[:-1]
    writes = {c.path.split("/v1/")[1]: c.status for c in recorder.calls if c.method in ("POST", "PATCH")}
    sample_update = writes.pop(f"samples/{visit.sample_id}")
    assert sample_update == 200 and {s for p, s in writes.items() if not p.startswith("auth/")} == {403}, writes


async def _group(db: AsyncSession, session_id: int) -> int:
    group = DataCollectionGroup(sessionId=session_id, experimentType="OSC")
    db.add(group)
    await db.flush()
    return group.dataCollectionGroupId
