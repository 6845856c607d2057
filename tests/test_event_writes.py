"""What beamline software writes into a session's timeline (POST /events/robot-action, /events/energyscan,
/events/xfe-fluorescence-spectrum, /events/fault, PATCH /events/energyscan/associate-bl-sample), read back from SQL on
both flavours; who may write; the 422s; and GET /events showing what was written to those who see the session."""

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from relational.models import (
    BFFault,
    BLSampleHasEnergyScan,
    EnergyScan,
    Permission,
    RobotAction,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
    XFEFluorescenceSpectrum,
)
from schemas.times import local_now
from tests import factories
from tests.conftest import Flavour, make_settings

API = "/ispyb/api/v1"
WHEN = "2026-12-02 08:00:00"
LATER = "2026-12-02 08:05:30"


def post(f: Flavour, path: str, body: dict[str, Any], role: str = "staff", method: str = "POST") -> Any:
    return f.client.request(method, API + path, json=body, headers=f.token(role))


def rows(f: Flavour, query: Any) -> list[dict[str, Any]]:
    async def read(db: AsyncSession) -> list[dict[str, Any]]:
        return [dict(r) for r in (await db.execute(query)).mappings()]

    return f.run(read)


def count(f: Flavour, query: Any) -> int:
    return f.run(factories.count, query)


def new_id(r: Any) -> int:
    """The id a write answered: a JSON string (MXCuBE's client breaks on a bare JSON number)."""
    assert r.status_code == 201, r.text
    answer = r.json()
    assert isinstance(answer, str) and answer.isdigit(), answer
    return int(answer)


def robot_body(f: Flavour, **extra: object) -> dict[str, Any]:
    """MXCuBE's robot-action dict as its adapter sends it (ids as strings, as MXCuBE keeps them)."""
    body: dict[str, Any] = {
        "actionType": "LOAD",
        "containerLocation": "3",
        "dewarLocation": 2,
        "sampleBarcode": "BC-0001",
        "blSampleId": f.data.samples["a"],
        "sessionId": str(f.data.sessions["a"]),
        "startTimestamp": WHEN,
        "endTimestamp": LATER,
        "status": "SUCCESS",
        "message": None,
    }
    return body | extra


def energy_scan_body(f: Flavour, **extra: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionId": str(f.data.sessions["a"]),
        "element": "Se",
        "edgeEnergy": "K",
        "startEnergy": 12.6,
        "endEnergy": 12.7,
        "transmissionFactor": 10.5,
        "exposureTime": 0.5,
        "fluorescenceDetector": "xspress3",
        "scanFileFullPath": "/data/scan.raw",
        "choochFileFullPath": "/data/scan.efs",
        "jpegChoochFileFullPath": "/data/scan.png",
        "filename": "scan_1",
        "peakEnergy": 12.66,
        "peakFPrime": -8.5,
        "peakFDoublePrime": 5.25,
        "inflectionEnergy": 12.655,
        "inflectionFPrime": -10.5,
        "inflectionFDoublePrime": 3.5,
        "comments": "a scan",
        "flux": 1.5e12,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
        "startTime": WHEN,
        "endTime": LATER,
        "remoteEnergy": 13.0,
        "prefix": "scan",  # MXCuBE's own key: no column
    }
    return body | extra


def xrf_body(f: Flavour, **extra: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionId": f.data.sessions["a"],
        "blSampleId": f.data.samples["a"],
        "exposureTime": 2.5,
        "filename": "xrf_1",
        "scanFileFullPath": "/data/xrf.raw",
        "jpegScanFileFullPath": "/data/xrf.png",
        "annotatedPymcaXfeSpectrum": "/data/xrf.html",
        "fittedDataFileFullPath": "/data/xrf.csv",
        "startTime": WHEN,
        "endTime": LATER,
        "beamTransmission": 3.5,
        "energy": 13.5,
        "flux": 2.5e11,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
    }
    return body | extra


def fault_body(f: Flavour, **extra: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sessionId": f.data.sessions["a"],
        "title": "Robot gripper stuck",
        "description": "The gripper did not open after the third mount.",
        "starttime": WHEN,
        "endtime": LATER,
        "beamtimelost": True,
        "beamtimelost_starttime": WHEN,
        "beamtimelost_endtime": "2026-12-02 08:04:00",
        "owner": "gda",
        "resolved": False,
    }
    return body | extra


def same(row: dict[str, Any], sent: dict[str, Any]) -> None:
    """The row holds what was sent: floats as a FLOAT column keeps them (single precision), the rest exactly."""
    kept = {k: row[k] for k in sent}
    assert kept == {k: pytest.approx(v, rel=1e-6) if isinstance(v, float) else v for k, v in sent.items()}


def at(text_time: str) -> datetime:
    return datetime.fromisoformat(text_time)


def test_robot_action_is_stored_as_sent(flavour: Flavour) -> None:
    f = flavour
    r = post(f, "/events/robot-action", robot_body(f, xtalSnapshotBefore="/snap/before.png", unknownKey=1))
    action_id = new_id(r)
    assert "unknownKey" in r.headers["Warning"]
    [row] = rows(f, select(*RobotAction.__table__.columns).where(RobotAction.robotActionId == action_id))
    assert row == {
        "robotActionId": action_id,
        "blsessionId": f.data.sessions["a"],
        "blsampleId": f.data.samples["a"],
        "actionType": "LOAD",
        "startTimestamp": at(WHEN),
        "endTimestamp": at(LATER),
        "status": "SUCCESS",
        "message": None,
        "containerLocation": 3,
        "dewarLocation": 2,
        "sampleBarcode": "BC-0001",
        "xtalSnapshotBefore": "/snap/before.png",
        "xtalSnapshotAfter": None,
    }


def test_robot_action_without_times_or_sample_is_now_and_none(flavour: Flavour) -> None:
    f = flavour
    before = local_now().replace(microsecond=0)
    body = robot_body(f, startTimestamp="", endTimestamp="", blSampleId=-1, actionType="unload", status="error")
    action_id = new_id(post(f, "/events/robot-action", body | {"message": "gripper"}))
    after = local_now() + timedelta(seconds=1)
    [row] = rows(f, select(RobotAction).where(RobotAction.robotActionId == action_id))
    robot = row["RobotAction"]
    assert robot.blsampleId is None and (robot.actionType, robot.status) == ("UNLOAD", "ERROR")
    assert before <= robot.startTimestamp <= robot.endTimestamp <= after


@pytest.mark.parametrize(("field", "value"), [("actionType", "MOSAIC"), ("status", "EPICSFAIL")])
def test_robot_enums_are_the_databases(flavour: Flavour, field: str, value: str) -> None:
    """Diamond's ENUMs have MOSAIC, LASER and EPICSFAIL; the official one refuses them, naming what it takes."""
    f = flavour
    r = post(f, "/events/robot-action", robot_body(f, **{field: value}))
    if f.name == "dls":
        [row] = rows(f, select(getattr(RobotAction, field)).where(RobotAction.robotActionId == new_id(r)))
        assert row[field] == value
        return
    assert r.status_code == 422, r.text
    problem = r.json()
    allowed = {
        "actionType": "LOAD, UNLOAD, DISPOSE, STORE, WASH, ANNEAL",
        "status": "SUCCESS, ERROR, CRITICAL, WARNING, COMMANDNOTSENT",
    }[field]
    assert problem["detail"] == f"`{field}` must be one of {allowed}"
    assert problem["errors"][0]["loc"] == ["body", field] and problem["errors"][0]["input"] == value
    assert count(f, select(func.count()).select_from(RobotAction)) == 2  # the data set's two


def test_energy_scan_is_stored_as_sent(flavour: Flavour) -> None:
    f = flavour
    r = post(f, "/events/energyscan", energy_scan_body(f))
    scan_id = new_id(r)
    [row] = rows(f, select(*EnergyScan.__table__.columns).where(EnergyScan.energyScanId == scan_id))
    sent = energy_scan_body(f)
    for key in ("prefix", "remoteEnergy", "sessionId", "startTime", "endTime"):
        sent.pop(key)
    same(row, sent)
    assert (row["sessionId"], row["blSampleId"]) == (f.data.sessions["a"], None)
    assert (row["startTime"], row["endTime"]) == (at(WHEN), at(LATER))
    ignored = r.headers["Warning"]
    assert "prefix" in ignored
    if f.name == "official":  # the remote-energy columns are the official schema's only
        remote = rows(f, text(f"SELECT remoteEnergy FROM EnergyScan WHERE energyScanId = {scan_id}"))
        assert remote == [{"remoteEnergy": 13.0}] and "remoteEnergy" not in ignored
    else:
        assert "remoteEnergy" in ignored


def test_energy_scan_sample_link_is_made_once(flavour: Flavour) -> None:
    f = flavour
    scan_id = new_id(post(f, "/events/energyscan", energy_scan_body(f)))
    body = {"energyScanId": str(scan_id), "blSampleId": f.data.samples["a"]}
    for _ in range(2):
        r = post(f, "/events/energyscan/associate-bl-sample", body, method="PATCH")
        assert r.status_code == 200, r.text
        assert r.json() == {"energyScanId": scan_id, "blSampleId": f.data.samples["a"]}
    links = select(BLSampleHasEnergyScan.blSampleId).where(BLSampleHasEnergyScan.energyScanId == scan_id)
    assert rows(f, links) == [{"blSampleId": f.data.samples["a"]}]
    [scan] = rows(f, select(EnergyScan.blSampleId).where(EnergyScan.energyScanId == scan_id))
    assert scan["blSampleId"] == f.data.samples["a"]
    other = post(
        f, "/events/energyscan/associate-bl-sample", body | {"blSampleId": f.data.samples["b"]}, "admin", "PATCH"
    )
    assert other.status_code == 422 and other.json()["errors"][0]["loc"] == ["body", "blSampleId"]
    missing = post(f, "/events/energyscan/associate-bl-sample", body | {"energyScanId": 2**32 - 1}, method="PATCH")
    assert missing.status_code == 404
    for role, expected in (("sci_b", 404), ("nobody", 404), ("sci_a", 403)):
        r = post(f, "/events/energyscan/associate-bl-sample", body, role, "PATCH")
        assert r.status_code == expected, (role, r.text)
    assert count(f, select(func.count()).select_from(BLSampleHasEnergyScan).where(links.whereclause)) == 1  # type: ignore[arg-type]


def test_xrf_spectrum_is_stored_as_sent(flavour: Flavour) -> None:
    f = flavour
    spectrum_id = new_id(post(f, "/events/xfe-fluorescence-spectrum", xrf_body(f)))
    table = XFEFluorescenceSpectrum
    [row] = rows(f, select(*table.__table__.columns).where(table.xfeFluorescenceSpectrumId == spectrum_id))
    sent = xrf_body(f)
    sent["startTime"], sent["endTime"] = at(WHEN), at(LATER)
    same(row, sent)


def test_fault_is_stored_as_sent_by_its_reporter(flavour: Flavour) -> None:
    f = flavour
    fault_id = new_id(post(f, "/events/fault", fault_body(f)))
    [row] = rows(f, select(*BFFault.__table__.columns).where(BFFault.faultId == fault_id))
    sent = fault_body(f)
    for key in ("starttime", "endtime", "beamtimelost_starttime", "beamtimelost_endtime"):
        sent[key] = at(sent[key])
    assert {k: row[k] for k in sent} == sent
    assert row["personId"] == f.data.persons["staff"] and row["subcomponentId"] is None
    before = local_now().replace(microsecond=0)
    bare = new_id(post(f, "/events/fault", {"sessionId": f.data.sessions["a"], "title": "x", "description": ""}))
    [row] = rows(f, select(BFFault.starttime, BFFault.endtime).where(BFFault.faultId == bare))
    assert before <= row["starttime"] <= local_now() and row["endtime"] is None


def _writes(f: Flavour, session: str) -> list[tuple[str, dict[str, Any]]]:
    sample = f.data.samples[session]
    given = {"sessionId": f.data.sessions[session]}
    return [
        ("/events/robot-action", robot_body(f, blSampleId=sample) | given),
        ("/events/energyscan", energy_scan_body(f, blSampleId=sample) | given),
        ("/events/xfe-fluorescence-spectrum", xrf_body(f, blSampleId=sample) | given),
        ("/events/fault", fault_body(f) | given),
    ]


def _counts(f: Flavour) -> list[int]:
    tables = (RobotAction, EnergyScan, XFEFluorescenceSpectrum, BFFault)
    return [count(f, select(func.count()).select_from(t)) for t in tables]


def test_who_may_write(flavour: Flavour) -> None:
    """Staff of the session's beamline and all-proposals staff write; a member only where the facility lets
    members (403 otherwise); who cannot see the session gets 404. Refused writes leave nothing."""
    f = flavour
    before = _counts(f)
    for role, expected in (("sci_b", 404), ("nobody", 404), ("sci_a", 403), ("staff", 201), ("admin", 201)):
        for path, body in _writes(f, "a"):
            assert post(f, path, body, role).status_code == expected, (role, path)
    for path, body in _writes(f, "b"):  # staff of tb01 only; session b is on tb02
        assert post(f, path, body, "staff").status_code == 404, path
    assert _counts(f) == [n + 2 for n in before]


@pytest.fixture
def members_write(flavour: Flavour) -> Iterator[Flavour]:
    state = flavour.state
    settings = state.settings
    state.settings = settings.model_copy(update={"acquisition_by_members": True})
    try:
        yield flavour
    finally:
        state.settings = settings


def test_members_write_where_the_facility_lets_them(members_write: Flavour) -> None:
    f = members_write
    for path, body in _writes(f, "a"):
        assert post(f, path, body, "sci_a").status_code == 201, path
    for path, body in _writes(f, "b"):
        assert post(f, path, body, "sci_a").status_code == 404, path


async def _grant_acquisition(db: AsyncSession, person_id: int) -> None:
    group, permission = UserGroup(name="t_acquisition"), Permission(type="acquisition")
    db.add_all([group, permission])
    await db.flush()
    db.add_all(
        [
            UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=permission.permissionId),
            UserGroupHasPerson(userGroupId=group.userGroupId, personId=person_id),
        ]
    )


def test_the_acquisition_permission_writes_into_any_session(flavour: Flavour) -> None:
    f = flavour
    f.run(_grant_acquisition, f.data.persons["pipeline"])
    for session in ("a", "b"):
        for path, body in _writes(f, session):
            assert post(f, path, body, "pipeline").status_code == 201, (session, path)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("/events/robot-action", {"sessionId": "abc"}, "sessionId"),
    ("/events/robot-action", {"sessionId": 2**32}, "sessionId"),
    ("/events/robot-action", {"containerLocation": 40000}, "containerLocation"),
    ("/events/robot-action", {"dewarLocation": "-1"}, "dewarLocation"),
    ("/events/robot-action", {"endTimestamp": "2026-12-02 07:59:59"}, "endTimestamp"),
    ("/events/robot-action", {"startTimestamp": "2040-01-01 00:00:00", "endTimestamp": ""}, "startTimestamp"),
    ("/events/robot-action", {"sampleBarcode": "x" * 46}, "sampleBarcode"),
    ("/events/robot-action", {"message": "x" * 256}, "message"),
    ("/events/robot-action", {"actionType": "JUGGLE"}, "actionType"),
    ("/events/robot-action", {"blSampleId": 0}, "blSampleId"),
    ("/events/energyscan", {"exposureTime": -0.5}, "exposureTime"),
    ("/events/energyscan", {"endTime": "2026-12-01 08:00:00"}, "endTime"),
    ("/events/energyscan", {"element": "x" * 46}, "element"),
    ("/events/energyscan", {"peakFPrime": 1e39}, "peakFPrime"),
    ("/events/energyscan", {"startTime": "0999-12-31 00:00:00", "endTime": None}, "startTime"),
    ("/events/xfe-fluorescence-spectrum", {"exposureTime": -1}, "exposureTime"),
    ("/events/xfe-fluorescence-spectrum", {"comments": "x" * 1025}, "comments"),
    ("/events/xfe-fluorescence-spectrum", {"endTime": "2026-12-02 07:00:00"}, "endTime"),
    ("/events/fault", {"title": ""}, "title"),
    ("/events/fault", {"title": "x" * 201}, "title"),
    ("/events/fault", {"endtime": "2026-12-02 07:00:00"}, "endtime"),
    ("/events/fault", {"beamtimelost_endtime": "2026-12-02 07:00:00"}, "beamtimelost_endtime"),
    ("/events/fault", {"owner": "x" * 51}, "owner"),
    ("/events/fault", {"subcomponentId": 2**32 - 1}, "subcomponentId"),
]


def test_impossible_values_are_422_naming_the_field(flavour: Flavour) -> None:
    f = flavour
    before = _counts(f)
    bodies = {path: body for path, body in _writes(f, "a")}
    for path, change, field in BAD:
        r = post(f, path, bodies[path] | change)
        assert r.status_code == 422, (path, change, r.text)
        problem = r.json()
        located = problem["detail"] if isinstance(problem["detail"], list) else problem["errors"]
        assert [e["loc"] for e in located] == [["body", field]], (path, change, problem)
    other = f.data.samples["b"]
    for path in ("/events/robot-action", "/events/energyscan", "/events/xfe-fluorescence-spectrum"):
        r = post(f, path, bodies[path] | {"blSampleId": other})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "blSampleId"], r.text
    assert _counts(f) == before


def test_the_timeline_shows_what_was_written(flavour: Flavour) -> None:
    f = flavour
    session = f.data.sessions["a"]
    kinds = ("robot", "es", "xrf", "fault")
    ids = {kind: new_id(post(f, path, body)) for kind, (path, body) in zip(kinds, _writes(f, "a"), strict=True)}
    answer = f.client.get(f"{API}/events", params={"sessionId": session}, headers=f.token("sci_a"))
    body = cast(dict[str, Any], answer.json())
    events = {(e["type"], e["id"]): e for e in body["results"]}
    assert body["total"] == 6  # the data set's group and robot action, and the four
    for kind, new in ids.items():
        assert (kind, new) in events, kind
    scan = events["es", ids["es"]]
    assert scan["Item"]["energyScanId"] == ids["es"] and scan["Item"]["element"] == "Se"
    assert scan["duration"] == pytest.approx(5.5) and scan["session"] == f"{f.data.proposals['a']}-1"
    spectrum = events["xrf", ids["xrf"]]
    assert spectrum["Item"]["xfeFluorescenceSpectrumId"] == ids["xrf"] and spectrum["blSample"] == "sample-a"
    fault = events["fault", ids["fault"]]
    assert fault["Item"]["title"] == "Robot gripper stuck" and fault["blSampleId"] is None
    assert events["robot", ids["robot"]]["Item"]["sampleBarcode"] == "BC-0001"
    types = f.client.get(f"{API}/events/types", params={"sessionId": session}, headers=f.token("sci_a")).json()
    assert [t["eventType"] for t in types["results"]] == ["OSC", "robot", "xrf", "es", "fault"]
    for kind in ("es", "xrf", "fault"):
        only = f.client.get(f"{API}/events", params={"sessionId": session, "eventType": kind}, headers=f.token("sci_a"))
        assert [(e["type"], e["id"]) for e in only.json()["results"]] == [(kind, ids[kind])]
    by_sample = f.client.get(
        f"{API}/events", params={"blSampleId": f.data.samples["a"]}, headers=f.token("sci_a")
    ).json()
    assert sorted(e["type"] for e in by_sample["results"]) == ["dc", "es", "robot", "robot", "xrf"]  # no fault
    outsider = f.client.get(f"{API}/events", params={"sessionId": session}, headers=f.token("sci_b")).json()
    assert outsider["total"] == 0
    outsider_types = f.client.get(f"{API}/events/types", params={"sessionId": session}, headers=f.token("sci_b"))
    assert outsider_types.json()["results"] == []


@pytest.fixture
def embedded(tmp_path: Path, mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> Iterator[tuple[TestClient, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"
    data = asyncio.run(factories.build_embedded(url))
    settings = make_settings(url, mongo_url, f"events_{uuid.uuid4().hex[:8]}", oidc_key)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, data


def test_the_embedded_database_takes_the_official_values(embedded: tuple[TestClient, factories.Dataset]) -> None:
    """SQLite's columns are plain strings: the official ENUM values are the ones taken; no remote-energy columns,
    no fault tree."""
    client, data = embedded
    login = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": "staff_embedded"}).json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    session, sample = data.sessions["a"], data.samples["a"]
    robot = {"sessionId": session, "blSampleId": sample, "actionType": "wash", "status": "SUCCESS"}
    assert client.post(f"{API}/events/robot-action", json=robot, headers=headers).status_code == 201
    refused = client.post(f"{API}/events/robot-action", json=robot | {"actionType": "MOSAIC"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "actionType"]
    scan = client.post(f"{API}/events/energyscan", json={"sessionId": session, "remoteEnergy": 1.5}, headers=headers)
    assert scan.status_code == 201 and "remoteEnergy" in scan.headers["Warning"]
    fault = {"sessionId": session, "title": "t", "description": "d"}
    assert client.post(f"{API}/events/fault", json=fault, headers=headers).status_code == 201
    with_tree = client.post(f"{API}/events/fault", json=fault | {"subcomponentId": 1}, headers=headers)
    assert with_tree.status_code == 422
    listed = client.get(f"{API}/events", params={"sessionId": session}, headers=headers).json()["results"]
    assert sorted(e["type"] for e in listed) == ["dc", "es", "fault", "robot", "robot"]
    assert [e["Item"]["actionType"] for e in listed if e["type"] == "robot"].count("WASH") == 1
