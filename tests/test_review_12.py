"""Issue 12 attacked from outside, on both flavours: ids of another proposal's rows in acquisition bodies, API keys
handing out more than their creator holds, refresh tokens at their limits, Idempotency-Keys across callers and
routes, hostile bodies. Each write refused (404/403/422) writes nothing: every acquisition table is counted before
and after."""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational import event_writes
from relational.models import (
    BeamLineSetup,
    BLSampleHasEnergyScan,
    BLSession,
    DataCollection,
    DataCollectionGroup,
    EnergyScan,
    Image,
    Permission,
    RobotAction,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
    XFEFluorescenceSpectrum,
)
from tests import factories
from tests.conftest import Flavour
from tests.mxcube_harness import serving
from tests.test_auth import _add_person, _delete_person

API = "/ispyb/api/v1"
TABLES = (
    BLSession,
    BeamLineSetup,
    DataCollectionGroup,
    DataCollection,
    Image,
    RobotAction,
    EnergyScan,
    BLSampleHasEnergyScan,
    XFEFluorescenceSpectrum,
)


def counts(f: Flavour) -> dict[str, int]:
    return {t.__name__: f.run(factories.count, select(func.count()).select_from(t)) for t in TABLES}


def grant(f: Flavour, role: str, permission: str) -> None:
    async def work(db: AsyncSession) -> None:
        group, perm = UserGroup(name=f"r_{permission}"[:31]), Permission(type=permission)
        db.add_all([group, perm])
        await db.flush()
        db.add(UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=perm.permissionId))
        db.add(UserGroupHasPerson(userGroupId=group.userGroupId, personId=f.data.persons[role]))

    f.run(work)


@pytest.fixture
def members(flavour: Flavour) -> Iterator[None]:
    before = flavour.state.settings
    flavour.state.settings = before.model_copy(update={"acquisition_by_members": True})
    yield
    flavour.state.settings = before


def _scan(f: Flavour, session: str) -> int:
    """An energy scan written by admin (all proposals) into the session ``session`` of the data set."""
    body = {"sessionId": f.data.sessions[session], "element": "Se"}
    r = f.client.post(f"{API}/events/energyscan", json=body, headers=f.token("admin"))
    assert r.status_code == 201, r.text
    return int(r.json())


def _writes(f: Flavour) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, body, expected status) for staff of beamline A (session a): ids of proposal b's rows."""
    d = f.data
    a, b = d.sessions["a"], d.sessions["b"]
    sample_b = d.samples["b"]
    ref_b = {"blSampleId": sample_b}
    return [
        ("POST", "/datacollections/datacollection", {"group_id": d.groups["b"]}, 404),
        ("POST", "/datacollections/datacollection", {"group_id": {"dataCollectionGroupId": d.groups["b"]}}, 404),
        ("POST", "/datacollections/datacollection", {"collection_id": d.dcs["b0"], "comments": "x"}, 404),
        ("POST", "/datacollections/datacollection", {"sessionId": b}, 404),
        ("POST", "/datacollections/datacollection", {"sessionId": a, "blSampleId": sample_b}, 422),
        ("POST", "/datacollections/datacollection", {"sessionId": a, "sample_reference": ref_b}, 422),
        ("POST", "/datacollections/datacollection", {"group_id": d.groups["a"], "sessionId": b}, 422),
        ("POST", "/datacollections/datacollection", {"collection_id": d.dcs["a0"], "group_id": d.groups["b"]}, 422),
        ("POST", "/datacollections/datacollection", {"collection_id": d.dcs["a0"], "blSampleId": sample_b}, 422),
        ("POST", "/datacollections/group", {"sessionId": b, "experimentType": "OSC"}, 404),
        ("POST", "/datacollections/group", {"sessionId": a, "blSampleId": sample_b}, 422),
        ("POST", "/datacollections/group", {"group_id": d.groups["b"], "comments": "x"}, 404),
        ("POST", "/datacollections/group", {"collection_id": d.dcs["b1"], "comments": "x"}, 404),
        ("POST", "/datacollections/group", {"group_id": d.groups["a"], "blSampleId": sample_b}, 422),
        ("POST", "/images/image", {"dataCollectionId": d.dcs["b0"], "imageNumber": 1}, 404),
        ("POST", "/events/robot-action", {"sessionId": b, "actionType": "LOAD"}, 404),
        ("POST", "/events/robot-action", {"sessionId": a, "actionType": "LOAD", "blSampleId": sample_b}, 422),
        ("POST", "/events/energyscan", {"sessionId": b}, 404),
        ("POST", "/events/energyscan", {"sessionId": a, "blSampleId": sample_b}, 422),
        ("POST", "/events/xfe-fluorescence-spectrum", {"sessionId": b}, 404),
        ("POST", "/events/xfe-fluorescence-spectrum", {"sessionId": a, "blSampleId": sample_b}, 422),
        ("POST", "/events/fault", {"sessionId": b, "title": "t", "description": "d"}, 404),
        ("PATCH", f"/sessions/{b}/associate-beamline-setup?beamLineSetupId=1", {}, 404),
        (
            "POST",
            "/sessions",
            {"proposalId": _proposal_of(f, b), "beamLineName": factories.BEAMLINE_B, "startDate": "2026-01-01T08:00",
             "endDate": "2026-01-01T20:00"},
            404,
        ),
    ]  # fmt: skip


def _proposal_of(f: Flavour, session_id: int) -> int:
    async def read(db: AsyncSession) -> int:
        query = select(BLSession.proposalId).where(BLSession.sessionId == session_id)
        return int((await db.execute(query)).scalar_one())

    return f.run(read)


def test_staff_cannot_write_into_another_proposal_through_body_ids(flavour: Flavour) -> None:
    f = flavour
    grant(f, "staff", "tb_staff_extra")  # an unrelated permission: staff's reach is still beamline A only
    headers = f.token("staff")
    before = counts(f)
    wrong = []
    for method, path, body, expected in _writes(f):
        r = f.client.request(method, f"{API}{path}", json=body, headers=headers)
        if r.status_code != expected:
            wrong.append((method, path, body, expected, r.status_code, r.text[:200]))
    assert wrong == []
    assert counts(f) == before


def test_energy_scan_links_stay_in_their_proposal(flavour: Flavour) -> None:
    f = flavour
    scan_b, scan_a = _scan(f, "b"), _scan(f, "a")
    before = counts(f)
    path = f"{API}/events/energyscan/associate-bl-sample"
    staff = f.token("staff")
    r = f.client.patch(path, json={"energyScanId": scan_b, "blSampleId": f.data.samples["b"]}, headers=staff)
    assert r.status_code == 404, r.text
    r = f.client.patch(path, json={"energyScanId": scan_a, "blSampleId": f.data.samples["b"]}, headers=staff)
    assert r.status_code == 422, r.text
    assert counts(f) == before


def test_members_write_only_their_own_sessions(flavour: Flavour, members: None) -> None:
    f = flavour
    d = f.data
    before = counts(f)
    sci_a = f.token("sci_a")
    for body in ({"group_id": d.groups["b"]}, {"sessionId": d.sessions["b"]}, {"collection_id": d.dcs["b0"]}):
        r = f.client.post(f"{API}/datacollections/datacollection", json=body, headers=sci_a)
        assert r.status_code == 404, (body, r.text)
    r = f.client.post(f"{API}/images/image", json={"dataCollectionId": d.dcs["b0"]}, headers=sci_a)
    assert r.status_code == 404, r.text
    assert counts(f) == before


def test_a_key_carries_no_permission_its_creator_lacks(flavour: Flavour) -> None:
    """A key manager without ``all_proposals`` cannot mint a key that reaches every proposal (acting as admin)."""
    f = flavour
    grant(f, "staff", "manage_api_keys")
    staff = f.token("staff")
    body = {"name": "escalate", "login": f"admin_{f.name}", "permissions": ["all_proposals"], "days": 1}
    r = f.client.post(f"{API}/api-keys", json=body, headers=staff)
    assert r.status_code == 422, r.text
    assert "all_proposals" in r.json()["detail"]
    listed = f.client.get(f"{API}/api-keys", headers=staff).json()
    assert [k["name"] for k in listed] == []


HOSTILE_IDS: list[Any] = ["1e3", " 7 ", True, 1.5, 2**64, -1, 0, [], {}, {"a": {"b": 1}}, "", "\x00", "٣"]
HOSTILE_TIMES: list[Any] = [
    "",
    "0000-00-00",
    "0000-00-00 00:00:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "1970-01-01T00:00:00+14:00",
    "2038-01-19T03:14:08",
    "2024-02-30T00:00:00",
    1e20,
    -1,
]
HOSTILE_TEXT: list[Any] = ["\x00", "a\x00b", "\u2603", "\U0001f600", "\udcff", "x" * 70000, ["x"], {"x": 1}]


def _hostile(f: Flavour) -> list[tuple[str, dict[str, Any]]]:
    a, dc = f.data.sessions["a"], f.data.dcs["a0"]
    cases: list[tuple[str, dict[str, Any]]] = []
    bases: dict[str, dict[str, Any]] = {
        "/datacollections/datacollection": {"sessionId": a},
        "/datacollections/group": {"sessionId": a},
        "/images/image": {"dataCollectionId": dc},
        "/events/robot-action": {"sessionId": a, "actionType": "LOAD"},
        "/events/energyscan": {"sessionId": a},
        "/events/xfe-fluorescence-spectrum": {"sessionId": a},
        "/events/fault": {"sessionId": a, "title": "t", "description": "d"},
    }
    fields: dict[str, dict[str, list[str]]] = {
        "/datacollections/datacollection": {
            "ids": ["sessionId", "group_id", "collection_id", "blSampleId", "detectorId", "screening_sub_wedge_id"],
            "times": ["collection_start_time"],
            "text": ["comments", "status", "experiment_type", "beamShape"],
        },
        "/datacollections/group": {"ids": ["sessionId", "group_id"], "times": [], "text": ["experimentType"]},
        "/images/image": {
            "ids": ["dataCollectionId", "motorPositionId", "imageNumber"], "times": [], "text": ["fileName"]
        },
        "/events/robot-action": {
            "ids": ["sessionId", "blSampleId", "dewarLocation"],
            "times": ["startTimestamp", "endTimestamp"],
            "text": ["actionType", "status", "message"],
        },
        "/events/energyscan": {
            "ids": ["blSampleId"], "times": ["startTime", "endTime"], "text": ["element", "edgeEnergy"]
        },
        "/events/xfe-fluorescence-spectrum": {"ids": ["blSampleId"], "times": ["startTime"], "text": ["filename"]},
        "/events/fault": {
            "ids": ["subcomponentId"],
            "times": ["starttime", "beamtimelost_starttime", "endtime"],
            "text": ["title", "description", "owner"],
        },
    }  # fmt: skip
    for path, base in bases.items():
        for kind, values in (("ids", HOSTILE_IDS), ("times", HOSTILE_TIMES), ("text", HOSTILE_TEXT)):
            for name in fields[path][kind]:
                cases += [(path, base | {name: value}) for value in values]
    dc_path = "/datacollections/datacollection"
    osc: Any
    for osc in ([], [{}] * 1000, {"start": 1}, "x", [{"start": 3e38, "range": 3e38, "number_of_images": 9}]):
        cases.append((dc_path, {"sessionId": a, "oscillation_sequence": osc}))
    for files in ([], "x", [{"directory": "/d"}], {"directory": {"x": 1}}, {"run_number": 2**32}):
        cases.append((dc_path, {"sessionId": a, "fileinfo": files}))
    for number in (3.4e38, 1e308, -0.0, 2**32, 2**63, "NaN", "Infinity"):
        cases.append((dc_path, {"sessionId": a, "wavelength": number, "actualSampleSlotInContainer": 2**32 - 1}))
    return cases


def test_hostile_bodies_never_500_and_refusals_write_nothing(flavour: Flavour) -> None:
    f = flavour
    headers = f.token("admin")
    failures = []
    for path, body in _hostile(f):
        before = counts(f)
        raw = json.dumps(body)  # ASCII: a lone surrogate goes as its escape
        r = f.client.post(f"{API}{path}", content=raw, headers=headers | {"Content-Type": "application/json"})
        if r.status_code >= 500 or (r.status_code >= 400 and counts(f) != before):
            failures.append((path, repr(body)[:150], r.status_code, r.text[:200]))
    assert failures == []


def test_reading_the_robot_enums_keeps_the_database_error_handlers(
    flavour: Flavour, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first robot action of a process reads RobotAction's ENUMs; that reflection must not switch off the
    engine's error handlers for the rest of the request: a text a latin1 column cannot keep is a 422."""
    f = flavour
    monkeypatch.setattr(event_writes, "_robot_enums", {})
    headers = f.token("admin") | {"Content-Type": "application/json"}
    a = f.data.sessions["a"]
    before = counts(f)
    for path, body in (
        ("/events/robot-action", {"sessionId": a, "actionType": "LOAD", "message": "\u2603"}),
        ("/events/energyscan", {"sessionId": a, "comments": "\u2603"}),
        ("/events/xfe-fluorescence-spectrum", {"sessionId": a, "comments": "\u2603"}),
    ):
        r = f.client.post(f"{API}{path}", content=json.dumps(body), headers=headers)
        assert r.status_code == 422 and "latin1" in r.json()["detail"], (path, r.text)
    assert counts(f) == before


def test_timeline_pages_hold_every_event_once_and_outsiders_none(flavour: Flavour) -> None:
    """Events of every kind at the very same time, paged 5 at a time: each appears exactly once; sci_b (another
    proposal) sees none of them, with or without a filter."""
    f = flavour
    a, when = f.data.sessions["a"], "2026-12-02 08:00:00"
    admin = f.token("admin")
    writes = {
        "robot": ("/events/robot-action", {"sessionId": a, "actionType": "LOAD", "startTimestamp": when}),
        "es": ("/events/energyscan", {"sessionId": a, "startTime": when}),
        "xrf": ("/events/xfe-fluorescence-spectrum", {"sessionId": a, "startTime": when}),
        "fault": ("/events/fault", {"sessionId": a, "title": "t", "description": "d", "starttime": when}),
    }
    new = set()
    for kind, (path, body) in writes.items():
        for _ in range(6):
            r = f.client.post(f"{API}{path}", json=body, headers=admin)
            assert r.status_code == 201, r.text
            new.add((kind, int(r.json())))
    seen: list[tuple[str, int]] = []
    total = None
    for skip in range(0, 60, 5):
        page = f.client.get(
            f"{API}/events", params={"sessionId": a, "skip": skip, "limit": 5}, headers=f.token("sci_a")
        )
        assert page.status_code == 200, page.text
        total = page.json()["total"]
        seen += [(e["type"], e["id"]) for e in page.json()["results"]]
    assert total == len(new) + 2  # the data set's group and robot action
    assert len(seen) == len(set(seen)) == total and new <= set(seen)
    outsider = f.client.get(f"{API}/events", params={"limit": 100}, headers=f.token("sci_b")).json()
    assert not {(e["type"], e["id"]) for e in outsider["results"]} & new
    assert f.client.get(f"{API}/events", params={"sessionId": a}, headers=f.token("sci_b")).json()["total"] == 0


def test_where_members_acquire_someone_of_no_proposal_stores_no_beamline_setup(flavour: Flavour, members: None) -> None:
    f = flavour
    before = counts(f)
    setup = {"synchrotron_name": "ESRF", "undulators": ["U20"]}
    r = f.client.post(f"{API}/beamline-setups/beamline-setup", json=setup, headers=f.token("nobody"))
    assert r.status_code == 403, r.text
    assert counts(f) == before
    r = f.client.post(f"{API}/beamline-setups/beamline-setup", json=setup, headers=f.token("sci_a"))
    assert r.status_code == 201, r.text


@pytest.mark.commits
def test_ignored_key_names_cannot_break_or_inject_the_warning_header(
    flavour: Flavour, oidc_key: rsa.RSAPrivateKey
) -> None:
    """Unknown keys are named in a ``Warning`` header: a key with CR/LF or other control characters must neither
    add a header nor make uvicorn refuse the answer (a 500 after the commit), and a huge key must not make the
    header unreadable (http.client, MXCuBE's requests, refuses header lines over 64 KiB)."""
    with serving(flavour, oidc_key) as (root, _):
        headers = flavour.token("staff")
        for key in ("evil\r\nX-Injected: 1", "nul\x00key", "del\x7fkey", "k" * 100_000):
            body = {"synchrotron_name": "review-12", key: 1}
            r = httpx.post(f"{root}beamline-setups/beamline-setup", json=body, headers=headers, timeout=30)
            assert r.status_code == 201, (repr(key[:20]), r.status_code, r.text[:200])
            assert "x-injected" not in r.headers
            warning = r.headers["warning"]
            assert len(warning) < 8192 and not re.search(r"[\x00-\x1f\x7f]", warning), warning[:200]


def test_staff_of_beamline_a_write_nothing_into_their_proposal_s_session_on_beamline_b(flavour: Flavour) -> None:
    f = flavour
    body = {
        "proposalId": _proposal_of(f, f.data.sessions["a"]),
        "beamLineName": factories.BEAMLINE_B,
        "startDate": "2026-01-01T08:00",
        "endDate": "2026-01-01T20:00",
    }
    r = f.client.post(f"{API}/sessions", json=body, headers=f.token("admin"))
    assert r.status_code == 201, r.text
    on_b = r.json()["sessionId"]
    before = counts(f)
    staff = f.token("staff")
    for path, sent in (
        ("/events/robot-action", {"sessionId": on_b, "actionType": "LOAD"}),
        ("/datacollections/datacollection", {"sessionId": on_b}),
        ("/datacollections/group", {"sessionId": on_b}),
    ):
        r = f.client.post(f"{API}{path}", json=sent, headers=staff)
        assert r.status_code in (403, 404), (path, r.text)
    r = f.client.patch(f"{API}/sessions/{on_b}/associate-beamline-setup?beamLineSetupId=1", headers=staff)
    assert r.status_code in (403, 404), r.text
    assert counts(f) == before


def test_a_key_of_a_deleted_person_is_refused_even_if_the_login_comes_back(flavour: Flavour) -> None:
    f = flavour
    grant(f, "admin", "manage_api_keys")
    who = f"svc_{f.name}_review"
    person_id = f.run(_add_person, who)
    body = {"name": "svc", "login": who, "permissions": [], "days": 1}
    created = f.client.post(f"{API}/api-keys", json=body, headers=f.token("admin"))
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert f.client.get(f"{API}/proposals", headers=key).status_code == 200
    f.run(_delete_person, person_id)
    r = f.client.get(f"{API}/proposals", headers=key)
    assert r.status_code == 401 and "no longer exists" in r.json()["detail"], r.text
    f.run(_add_person, who)  # someone else, given the same login
    assert f.client.get(f"{API}/proposals", headers=key).status_code == 401


async def _sub_wedge(db: AsyncSession, group_id: int, column: str = "dataCollectionGroupId") -> int:
    """A screening strategy's sub-wedge (Screening → … → SubWedge) of the collection group (or, with ``column``
    dataCollectionId, the collection) ``group_id``."""
    screening = await factories.insert(db, f"INSERT INTO Screening ({column}) VALUES (:g)", g=group_id)
    output = await factories.insert(db, "INSERT INTO ScreeningOutput (screeningId) VALUES (:i)", i=screening)
    strategy = await factories.insert(db, "INSERT INTO ScreeningStrategy (screeningOutputId) VALUES (:i)", i=output)
    wedge = await factories.insert(
        db, "INSERT INTO ScreeningStrategyWedge (screeningStrategyId) VALUES (:i)", i=strategy
    )
    return await factories.insert(
        db, "INSERT INTO ScreeningStrategySubWedge (screeningStrategyWedgeId) VALUES (:i)", i=wedge
    )


def test_a_collection_links_only_a_screening_sub_wedge_of_its_own_proposal(flavour: Flavour) -> None:
    """``screening_sub_wedge_id`` → DataCollection.strategySubWedgeOrigId (a foreign key, ON DELETE CASCADE in the
    official schema): another proposal's sub-wedge is a 422, and nothing is written."""
    f = flavour
    theirs, ours = f.run(_sub_wedge, f.data.groups["b"]), f.run(_sub_wedge, f.data.groups["a"])
    staff = f.token("staff")
    before = counts(f)
    for body in (
        {"sessionId": f.data.sessions["a"], "screening_sub_wedge_id": theirs},
        {"collection_id": f.data.dcs["a0"], "screening_sub_wedge_id": theirs},
    ):
        r = f.client.post(f"{API}/datacollections/datacollection", json=body, headers=staff)
        assert r.status_code == 422 and "screening_sub_wedge_id" in r.json()["detail"], r.text
    assert counts(f) == before
    by_collection = f.run(_sub_wedge, f.data.dcs["a1"], "dataCollectionId")
    for mine in (ours, by_collection):
        body = {"sessionId": f.data.sessions["a"], "screening_sub_wedge_id": mine}
        r = f.client.post(f"{API}/datacollections/datacollection", json=body, headers=staff)
        assert r.status_code == 201, r.text
