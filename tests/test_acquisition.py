"""Acquisition writes as MXCuBE's PyISPyB adapter sends them (docs/design/mxcube-calls.md §3 rows 9-17): sessions,
beamline setups, detectors, collection groups, collections and images, on both flavours; read back from SQL."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    BeamLineSetup,
    BLSession,
    DataCollection,
    DataCollectionGroup,
    Detector,
    Image,
    Permission,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
)
from tests import factories
from tests.conftest import Flavour

API = "/ispyb/api/v1"


def _row(flavour: Flavour, model: Any, key: Any, value: int) -> dict[str, Any]:
    async def read(db: AsyncSession) -> dict[str, Any]:
        found = (await db.execute(select(model).where(key == value))).scalar_one()
        return {c.key: getattr(found, c.key) for c in model.__table__.columns}

    return flavour.run(read)


def _count(flavour: Flavour, model: Any) -> int:
    return flavour.run(factories.count, select(func.count()).select_from(model))


def _grant(flavour: Flavour, role: str, permission: str) -> None:
    async def grant(db: AsyncSession) -> None:
        group, perm = UserGroup(name=f"t_{permission}"), Permission(type=permission)
        db.add_all([group, perm])
        await db.flush()
        db.add(UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=perm.permissionId))
        db.add(UserGroupHasPerson(userGroupId=group.userGroupId, personId=flavour.data.persons[role]))

    flavour.run(grant)


@pytest.fixture
def members(flavour: Flavour) -> Iterator[None]:
    """The facility lets members of a proposal write acquisition records into its sessions."""
    before = flavour.state.settings
    flavour.state.settings = before.model_copy(update={"acquisition_by_members": True})
    yield
    flavour.state.settings = before


def _collection(session_id: int | str, sample_id: int | None, **extra: Any) -> dict[str, Any]:
    """A collection dict as MXCuBE's ``to_collect_dict`` and ``AbstractCollect`` make it."""
    return {
        "comments": "first sweep",
        "take_video": False,
        "fileinfo": {
            "directory": "/data/visit/sample1",
            "prefix": "sample1",
            "run_number": 3,
            "archive_directory": "/archive",
            "template": "sample1_3_%05d.cbf",
            "compression": False,
        },
        "in_queue": False,
        "detector_binning_mode": 1,
        "sessionId": str(session_id),
        "sample_reference": {"spacegroup": "P21", "blSampleId": sample_id, "sample_name": "s", "acronym": "p"},
        "resolution": 1.9,
        "transmission": 50.0,
        "energy": 12.7,
        "oscillation_sequence": [
            {
                "exposure_time": 0.02,
                "kappaStart": 10.0,
                "phiStart": 5.0,
                "start_image_number": 1,
                "number_of_images": 100,
                "offset": 0.0,
                "start": 30.0,
                "range": 0.1,
                "number_of_passes": 1,
                "number_of_lines": 1,
                "mesh_range": (),
            }
        ],
        "group_id": None,
        "experiment_type": "OSC",
        "status": "Running",
        "collection_start_time": "2026-12-02 08:00:00",
        "wavelength": 0.9763,
        "detectorDistance": 250.0,
        "xBeam": 160.1,
        "yBeam": 165.2,
        "beamSizeAtSampleX": 0.05,
        "beamSizeAtSampleY": 0.02,
        "synchrotronMode": "Uniform",
        "flux": 2.5e12,
        "undulatorGap1": 6.5,
        "xtalSnapshotFullPath1": "/data/snap1.png",
        "centringMethod": "xray",
        "actualCentringPosition": " phi=1.0 kappa=10.0",
        "actualContainerSlotInSC": 3,
        "actualSampleSlotInContainer": 7,
        **extra,
    }


# sessions


def _session_body(flavour: Flavour, **extra: Any) -> dict[str, Any]:
    proposal_id = _row(flavour, BLSession, BLSession.sessionId, flavour.data.sessions["a"])["proposalId"]
    return {
        "proposalId": str(proposal_id),
        "startDate": "2026-12-02T00:00:00.000000Z",
        "endDate": "2026-12-04T07:59:59.000000Z",
        "beamLineName": factories.BEAMLINE_A,
        "comments": "Session created by the BCM",
        "scheduled": False,
        **extra,
    }


def test_create_session_as_mxcube_sends_it(flavour: Flavour) -> None:
    body = _session_body(flavour, nbShifts=3, unknownKey=1)
    r = flavour.client.post(f"{API}/sessions", json=body, headers=flavour.token("staff"))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert "unknownKey" in r.headers["Warning"]
    assert answer["proposal"] == flavour.data.proposals["a"]  # a string CODE+NUMBER, as the adapter splits it
    assert (answer["startDate"], answer["endDate"]) == ("2026-12-02T00:00:00", "2026-12-04T07:59:59")
    assert answer["visit_number"] == 2  # the factory's session of this proposal is visit 1
    assert answer["session"] == f"{flavour.data.proposals['a']}-2"
    row = _row(flavour, BLSession, BLSession.sessionId, answer["sessionId"])
    assert row["proposalId"] == int(body["proposalId"])
    assert (row["startDate"], row["endDate"]) == (datetime(2026, 12, 2), datetime(2026, 12, 4, 7, 59, 59))
    assert (row["beamLineName"], row["comments"], row["scheduled"], row["nbShifts"], row["visit_number"]) == (
        factories.BEAMLINE_A,
        "Session created by the BCM",
        False,
        3,
        2,
    )
    again = flavour.client.post(f"{API}/sessions", json=body, headers=flavour.token("admin"))
    assert again.status_code == 201, again.text
    assert again.json()["visit_number"] == 3


@pytest.mark.parametrize(
    ("role", "status"), [("nobody", 404), ("sci_b", 404), ("sci_a", 403), ("staff", 403), ("admin", 201)]
)
def test_who_may_open_a_session_on_tb02(flavour: Flavour, role: str, status: int) -> None:
    before = _count(flavour, BLSession)
    body = _session_body(flavour, beamLineName=factories.BEAMLINE_B)  # staff's group is tb01 only
    r = flavour.client.post(f"{API}/sessions", json=body, headers=flavour.token(role))
    assert r.status_code == status, r.text
    assert _count(flavour, BLSession) == before + (status == 201)


def test_members_open_sessions_when_the_facility_allows(flavour: Flavour, members: None) -> None:
    body = _session_body(flavour, beamLineName=factories.BEAMLINE_B)
    assert flavour.client.post(f"{API}/sessions", json=body, headers=flavour.token("sci_a")).status_code == 201
    assert flavour.client.post(f"{API}/sessions", json=body, headers=flavour.token("sci_b")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endDate": "2026-12-01T23:00:00Z"}, "endDate"),
        ({"beamLineName": "x" * 46}, "beamLineName"),
        ({"proposalId": "abc"}, "proposalId"),
        ({"proposalId": 2**32}, "proposalId"),
        ({"nbShifts": -1}, "nbShifts"),
        ({"comments": "c" * 2001}, "comments"),
        ({"startDate": "0999-01-01T00:00:00"}, "startDate"),
    ],
)
def test_impossible_sessions_are_422_naming_the_field(flavour: Flavour, change: dict[str, Any], field: str) -> None:
    before = _count(flavour, BLSession)
    r = flavour.client.post(f"{API}/sessions", json=_session_body(flavour, **change), headers=flavour.token("admin"))
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", field]]
    assert _count(flavour, BLSession) == before


# beamline setups and detectors

CONFIG = {
    "synchrotron_name": "TESTSYNC",
    "undulators": [{"type": "U20"}, "U32"],
    "monochromator_type": "Si111",
    "focusing_optic": "KB",
    "beam_divergence_vertical": 6.5,
    "beam_divergence_horizontal": 104.1,
    "polarisation": 0.99,
    "minimum_exposure_time": 0.003,
    "maximum_phi_speed": 360.0,
    "minimum_phi_oscillation": 0.01,
    "synchrotronMode": "Uniform",
    "detector_manufacturer": "Dectris",
    "detector_model": "Eiger",
    "detector_type": "hybrid",
}


def test_store_beamline_setup_answers_a_string_and_reuses_an_unchanged_row(flavour: Flavour) -> None:
    before = _count(flavour, BeamLineSetup)
    r = flavour.client.post(f"{API}/beamline-setups/beamline-setup", json=CONFIG, headers=flavour.token("staff"))
    assert r.status_code == 201, r.text
    setup_id = r.json()
    assert isinstance(setup_id, str)
    assert "detector_manufacturer" in r.headers["Warning"]
    row = _row(flavour, BeamLineSetup, BeamLineSetup.beamLineSetupId, int(setup_id))
    assert (row["synchrotronName"], row["undulatorType1"], row["undulatorType2"], row["undulatorType3"]) == (
        "TESTSYNC",
        "U20",
        "U32",
        None,
    )
    assert (row["monochromatorType"], row["focusingOptic"], row["synchrotronMode"]) == ("Si111", "KB", "Uniform")
    assert row["beamDivergenceVertical"] == pytest.approx(6.5)
    assert row["polarisation"] == pytest.approx(0.99)
    assert row["minExposureTimePerImage"] == pytest.approx(0.003)
    assert row["goniostatMaxOscillationSpeed"] == pytest.approx(360.0)
    assert row["goniostatMinOscillationWidth"] == pytest.approx(0.01)
    assert row["setupDate"] is not None
    # MXCuBE writes our answer back into its dict and sends it again
    same = flavour.client.post(
        f"{API}/beamline-setups/beamline-setup",
        json={**CONFIG, "beamlineSetupId": setup_id},
        headers=flavour.token("staff"),
    )
    assert same.json() == setup_id
    assert _count(flavour, BeamLineSetup) == before + 1
    changed = {**CONFIG, "beamlineSetupId": setup_id, "polarisation": 0.5}
    other = flavour.client.post(f"{API}/beamline-setups/beamline-setup", json=changed, headers=flavour.token("staff"))
    assert other.json() != setup_id
    assert _count(flavour, BeamLineSetup) == before + 2


@pytest.mark.parametrize(("role", "status"), [("nobody", 403), ("sci_a", 403), ("admin", 201), ("staff", 201)])
def test_who_may_store_a_beamline_setup(flavour: Flavour, role: str, status: int) -> None:
    before = _count(flavour, BeamLineSetup)
    r = flavour.client.post(f"{API}/beamline-setups/beamline-setup", json=CONFIG, headers=flavour.token(role))
    assert r.status_code == status, r.text
    assert _count(flavour, BeamLineSetup) == before + (status == 201)


def test_impossible_setups_are_422(flavour: Flavour) -> None:
    for change, field in (
        ({"undulators": [{"type": "U"}] * 4}, ["body", "undulators"]),
        ({"monochromator_type": "m" * 256}, ["body", "monochromator_type"]),
        ({"minimum_exposure_time": -1}, ["body", "minimum_exposure_time"]),
        ({"polarisation": "NaN"}, ["body", "polarisation"]),
    ):
        r = flavour.client.post(
            f"{API}/beamline-setups/beamline-setup", json={**CONFIG, **change}, headers=flavour.token("staff")
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == field


def test_associate_beamline_setup(flavour: Flavour) -> None:
    session_id = flavour.data.sessions["a"]
    setup_id = flavour.client.post(
        f"{API}/beamline-setups/beamline-setup", json=CONFIG, headers=flavour.token("staff")
    ).json()
    url = f"{API}/sessions/{session_id}/associate-beamline-setup"
    r = flavour.client.patch(url, params={"beamLineSetupId": setup_id}, headers=flavour.token("staff"))
    assert r.status_code == 200, r.text
    assert r.json() == {"sessionId": session_id, "beamLineSetupId": int(setup_id)}
    assert _row(flavour, BLSession, BLSession.sessionId, session_id)["beamLineSetupId"] == int(setup_id)
    missing = flavour.client.patch(url, params={"beamLineSetupId": 2**32 - 1}, headers=flavour.token("staff"))
    assert missing.status_code == 422, missing.text
    assert (
        flavour.client.patch(url, params={"beamLineSetupId": setup_id}, headers=flavour.token("nobody")).status_code
        == 404
    )
    assert (
        flavour.client.patch(url, params={"beamLineSetupId": setup_id}, headers=flavour.token("sci_a")).status_code
        == 403
    )


def test_find_detector_case_insensitively(flavour: Flavour) -> None:
    async def add(db: AsyncSession) -> int:
        detector = Detector(
            detectorManufacturer="DECTRIS", detectorModel="Eiger2 X 16M", detectorMode="1", detectorType="Photon"
        )
        db.add(detector)
        await db.flush()
        return detector.detectorId

    detector_id = flavour.run(add)
    params = {"manufacturer": "dectris", "model": "EIGER2 X 16M", "mode": "1", "type": ""}
    r = flavour.client.get(f"{API}/detectors", params=params, headers=flavour.token("sci_a"))
    assert r.status_code == 200, r.text
    assert r.json()["detectorId"] == detector_id
    assert r.json()["detectorModel"] == "Eiger2 X 16M"
    none = flavour.client.get(f"{API}/detectors", params={**params, "model": "Pilatus"}, headers=flavour.token("sci_a"))
    assert none.status_code == 404
    assert none.headers["content-type"] == "application/problem+json"
    assert flavour.client.get(f"{API}/detectors", params=params).status_code == 401


# groups and collections


def test_queue_group_then_collection_then_update(flavour: Flavour) -> None:
    session_id, sample_id = flavour.data.sessions["a"], flavour.data.samples["a"]
    headers = flavour.token("staff")
    queue_group = {"sessionId": str(session_id), "experimentType": "OSC", "actualContainerSlotInSC": 2}
    r = flavour.client.post(f"{API}/datacollections/group", json=queue_group, headers=headers)
    assert r.status_code == 201, r.text
    group = r.json()
    assert group == {
        "dataCollectionGroupId": group["dataCollectionGroupId"],
        "sessionId": session_id,
        "experimentType": "OSC",
        "blSampleId": None,
    }
    group_id = group["dataCollectionGroupId"]
    groups_before, dcs_before = _count(flavour, DataCollectionGroup), _count(flavour, DataCollection)

    # row 14: the collection arrives with the group answer as group_id, and the detector found by row 13
    body = _collection(session_id, sample_id, group_id=group, detectorId=None)
    r = flavour.client.post(f"{API}/datacollections/datacollection", json=body, headers=headers)
    assert r.status_code == 201, r.text
    dc_id = r.json()["dataCollectionId"]
    assert r.json() == {"dataCollectionId": dc_id, "dataCollectionGroupId": group_id}
    warning = r.headers["Warning"]
    assert "take_video" in warning and "oscillation_sequence[0].mesh_range" in warning
    row = _row(flavour, DataCollection, DataCollection.dataCollectionId, dc_id)
    assert (row["dataCollectionGroupId"], row["sessionId"], row["blSampleId"]) == (group_id, session_id, sample_id)
    assert (row["imageDirectory"], row["imagePrefix"], row["fileTemplate"], row["dataCollectionNumber"]) == (
        "/data/visit/sample1",
        "sample1",
        "sample1_3_%05d.cbf",
        3,
    )
    assert (row["numberOfImages"], row["startImageNumber"], row["numberOfPasses"]) == (100, 1, 1)
    assert row["axisStart"] == pytest.approx(30.0)
    assert row["axisEnd"] == pytest.approx(40.0)  # 30 + (0.1 + 0) × 100
    assert row["axisRange"] == pytest.approx(0.1)
    assert row["overlap"] == pytest.approx(0.0)
    assert (row["rotationAxis"], row["omegaStart"]) == ("Omega", pytest.approx(30.0))  # kappa 10: omega rotation
    assert row["kappaStart"] == pytest.approx(10.0) and row["phiStart"] == pytest.approx(5.0)
    assert row["exposureTime"] == pytest.approx(0.02)
    assert (row["runStatus"], row["comments"], row["experimentType"]) == ("Running", "first sweep", "OSC")
    assert row["startTime"] == datetime(2026, 12, 2, 8, 0)
    assert row["endTime"] is not None
    assert row["wavelength"] == pytest.approx(0.9763) and row["resolution"] == pytest.approx(1.9)
    assert row["transmission"] == pytest.approx(50.0) and row["detectorDistance"] == pytest.approx(250.0)
    assert row["xBeam"] == pytest.approx(160.1) and row["yBeam"] == pytest.approx(165.2)
    assert row["beamSizeAtSampleX"] == pytest.approx(0.05) and row["undulatorGap1"] == pytest.approx(6.5)
    assert row["flux"] == pytest.approx(2.5e12) and row["synchrotronMode"] == "Uniform"
    assert (row["xtalSnapshotFullPath1"], row["centeringMethod"], row["actualCenteringPosition"]) == (
        "/data/snap1.png",
        "xray",
        " phi=1.0 kappa=10.0",
    )
    assert (row["actualContainerSlotInSC"], row["actualSampleSlotInContainer"], row["binning"]) == (3, 7, 1)
    assert (row["detectorId"], row["strategySubWedgeOrigId"]) == (None, None)
    assert _count(flavour, DataCollectionGroup) == groups_before  # a group was given: no new one

    # row 15b: the whole collection dict updates the group, never creates one
    update = _collection(session_id, sample_id, group_id=group, collection_id=dc_id, blSampleId=sample_id)
    r = flavour.client.post(f"{API}/datacollections/group", json=update, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["dataCollectionGroupId"] == group_id
    group_row = _row(flavour, DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId, group_id)
    assert (group_row["blSampleId"], group_row["experimentType"], group_row["actualSampleSlotInContainer"]) == (
        sample_id,
        "OSC",
        7,
    )
    assert group_row["endTime"] is not None

    # row 16: the update with collection_id answers [dc, group] and writes no second row
    final = {**update, "group_id": group_id, "status": "Data collection successful", "flux_end": 2.0e12}
    r = flavour.client.post(f"{API}/datacollections/datacollection", json=final, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == [dc_id, group_id]
    row = _row(flavour, DataCollection, DataCollection.dataCollectionId, dc_id)
    assert (row["runStatus"], row["flux_end"]) == ("Data collection successful", pytest.approx(2.0e12))
    assert (_count(flavour, DataCollectionGroup), _count(flavour, DataCollection)) == (groups_before, dcs_before + 1)
    shown = flavour.client.get(f"{API}/datacollections/{dc_id}", headers=headers).json()
    assert shown["startTime"] == "2026-12-02T08:00:00" and shown["endTime"] is not None


def test_a_collection_without_group_creates_one(flavour: Flavour) -> None:
    session_id = flavour.data.sessions["a"]
    groups_before = _count(flavour, DataCollectionGroup)
    body = _collection(session_id, -1, experiment_type="Imaging")  # in neither flavour's group ENUM
    r = flavour.client.post(f"{API}/datacollections/datacollection", json=body, headers=flavour.token("admin"))
    assert r.status_code == 201, r.text
    dc_id, group_id = r.json()["dataCollectionId"], r.json()["dataCollectionGroupId"]
    assert _count(flavour, DataCollectionGroup) == groups_before + 1
    group = _row(flavour, DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId, group_id)
    assert (group["sessionId"], group["experimentType"], group["blSampleId"]) == (session_id, None, None)
    assert (group["actualContainerSlotInSC"], group["startTime"]) == (3, datetime(2026, 12, 2, 8, 0))
    row = _row(flavour, DataCollection, DataCollection.dataCollectionId, dc_id)
    assert (row["experimentType"], row["blSampleId"]) == ("Imaging", None)


def test_collection_refusals(flavour: Flavour) -> None:
    session_a, session_b = flavour.data.sessions["a"], flavour.data.sessions["b"]
    group_a, sample_b = flavour.data.groups["a"], flavour.data.samples["b"]
    dc_a = flavour.data.dcs["a0"]
    before = (_count(flavour, DataCollectionGroup), _count(flavour, DataCollection))
    url = f"{API}/datacollections/datacollection"
    cases: list[tuple[str, dict[str, Any], int, str | None]] = [
        ("staff", _collection(session_b, None, group_id=group_a), 422, "sessionId"),
        ("staff", _collection(session_a, sample_b, group_id=group_a), 422, "blSampleId"),
        ("staff", {**_collection(session_a, None), "sessionId": None}, 422, "sessionId"),
        ("staff", _collection(session_a, None, group_id={"dataCollectionGroupId": 2**31 - 1}), 404, None),
        ("staff", _collection(session_a, None, collection_id=2**32 - 1), 404, None),
        ("staff", _collection(session_a, None, collection_id="abc"), 422, None),
        ("staff", _collection(session_a, None, collection_id=dc_a, group_id=flavour.data.groups["b"]), 422, "group_id"),
        ("staff", _collection(session_a, None, detectorId=2**31 - 1), 422, None),
        ("staff", _collection(session_a, None, fileinfo={"prefix": "p" * 46}), 422, None),
        ("staff", _collection(session_a, None, oscillation_sequence=[{"number_of_images": -5}]), 422, None),
        ("staff", _collection(session_a, None, oscillation_sequence=[{}, {}]), 422, None),
        ("staff", _collection(session_a, None, experiment_type="x" * 25), 422, None),
        ("nobody", _collection(session_a, None), 404, None),
        ("sci_b", _collection(session_a, None, group_id=group_a), 404, None),
        ("sci_a", _collection(session_a, None), 403, None),
        ("sci_a", _collection(session_a, None, collection_id=dc_a), 403, None),
        ("staff", _collection(session_b, None), 404, None),
    ]
    for role, body, status, field in cases:
        r = flavour.client.post(url, json=body, headers=flavour.token(role))
        assert r.status_code == status, (role, body, r.text)
        if field:
            assert field in r.text
    r = flavour.client.post(
        f"{API}/datacollections/group", json={"experimentType": "OSC"}, headers=flavour.token("staff")
    )
    assert r.status_code == 422, r.text
    r = flavour.client.post(f"{API}/datacollections/group", json={"group_id": group_a}, headers=flavour.token("sci_a"))
    assert r.status_code == 403, r.text
    assert (_count(flavour, DataCollectionGroup), _count(flavour, DataCollection)) == before


def test_members_and_acquisition_permission(flavour: Flavour, members: None) -> None:
    url = f"{API}/datacollections/datacollection"
    session_a, session_b = flavour.data.sessions["a"], flavour.data.sessions["b"]
    assert (
        flavour.client.post(url, json=_collection(session_a, None), headers=flavour.token("sci_a")).status_code == 201
    )
    assert (
        flavour.client.post(url, json=_collection(session_b, None), headers=flavour.token("sci_a")).status_code == 404
    )
    _grant(flavour, "nobody", flavour.state.settings.acquisition_permission)
    assert (
        flavour.client.post(url, json=_collection(session_b, None), headers=flavour.token("nobody")).status_code == 201
    )


# images


def test_store_image(flavour: Flavour) -> None:
    dc_id = flavour.data.dcs["a0"]
    body = {
        "dataCollectionId": dc_id,
        "fileName": "sample1_3_00001.cbf",
        "fileLocation": "/data/visit/sample1",
        "imageNumber": 1,
        "measuredIntensity": None,
        "synchrotronCurrent": 199.5,
        "machineMessage": "Uniform",
        "temperature": None,
        "jpegFileFullPath": "/data/j.jpeg",
        "jpegThumbnailFileFullPath": "/data/j.thumb.jpeg",
        "frameTime": 3,
    }
    r = flavour.client.post(f"{API}/images/image", json=body, headers=flavour.token("staff"))
    assert r.status_code == 201, r.text
    assert r.json() == {"imageId": r.json()["imageId"], "dataCollectionId": dc_id}
    assert "frameTime" in r.headers["Warning"]
    row = _row(flavour, Image, Image.imageId, r.json()["imageId"])
    sent = {k: v for k, v in body.items() if k != "frameTime"}
    assert {k: row[k] for k in sent} == {**sent, "synchrotronCurrent": pytest.approx(199.5)}
    before = _count(flavour, Image)
    for role, change, status in (
        ("staff", {"dataCollectionId": None}, 422),
        ("staff", {"dataCollectionId": "x"}, 422),
        ("staff", {"imageNumber": -1}, 422),
        ("staff", {"fileName": "f" * 256}, 422),
        ("staff", {"dataCollectionId": 2**32 - 1}, 404),
        ("staff", {"dataCollectionId": flavour.data.dcs["b0"]}, 404),
        ("nobody", {}, 404),
        ("sci_a", {}, 403),
    ):
        r = flavour.client.post(f"{API}/images/image", json={**body, **change}, headers=flavour.token(role))
        assert r.status_code == status, (role, change, r.text)
    assert _count(flavour, Image) == before
    # Diamond's Image.motorPositionId is a foreign key (an unknown one is refused); the official one is not
    r = flavour.client.post(
        f"{API}/images/image", json={**body, "motorPositionId": 2**32 - 1}, headers=flavour.token("staff")
    )
    assert r.status_code == (422 if flavour.name == "dls" else 201), r.text


HOSTILE: list[Any] = [-1, 0, 2**31, 2**63, -3.5e38, 1e308, "x", "", [], {}, True, "9" * 400]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("datacollections/datacollection", [*_collection(1, None), "collection_id", "detectorId", "blSampleId"]),
        ("datacollections/group", ["sessionId", "experimentType", "actualContainerSlotInSC", "group_id"]),
        ("images/image", ["dataCollectionId", "imageNumber", "synchrotronCurrent", "fileName", "motorPositionId"]),
        ("beamline-setups/beamline-setup", [*CONFIG, "beamlineSetupId"]),
        ("sessions", ["proposalId", "startDate", "endDate", "nbShifts", "scheduled"]),
    ],
)
def test_hostile_values_never_answer_500(flavour: Flavour, path: str, fields: list[str]) -> None:
    """Every field of each body, set to values at and beyond its column's limits: an answer, never a 500."""
    session_id = flavour.data.sessions["a"]
    bodies = {
        "datacollections/datacollection": _collection(session_id, None),
        "datacollections/group": {"sessionId": session_id, "experimentType": "OSC"},
        "images/image": {"dataCollectionId": flavour.data.dcs["a0"], "imageNumber": 1},
        "beamline-setups/beamline-setup": CONFIG,
        "sessions": _session_body(flavour),
    }
    for field in fields:
        for value in HOSTILE:
            body = {**bodies[path], field: value}
            r = flavour.client.post(f"{API}/{path}", json=body, headers=flavour.token("admin"))
            assert r.status_code in (200, 201, 403, 404, 422), (field, value, r.text)
    osc = {"start": 3e38, "range": 3e38, "offset": 0, "number_of_images": 10}
    r = flavour.client.post(
        f"{API}/datacollections/datacollection",
        json=_collection(session_id, None, oscillation_sequence=[osc]),
        headers=flavour.token("admin"),
    )
    assert r.status_code == 422, r.text
