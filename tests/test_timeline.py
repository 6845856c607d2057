"""GET /sessions/{id}/timeline on both flavours: the merged order of SQL events, logbook entries and results equals a
brute-force merge of what the individual routes and the documents hold, page after page with one cursor; events of
several kinds at one instant; the kinds filter; scoping and forged cursors; the document store down; a session
across a change of daylight-saving time; bad parameters."""

import time as clock
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.embedded import free_port
from app.main import create_app
from relational.models import DataCollection, EnergyScan, RobotAction, XFEFluorescenceSpectrum
from tests.conftest import Flavour, make_settings
from tests.test_shipping import Caller

API = "/ispyb/api/v1"
#: the documented order of kinds at one instant (schemas/timeline.py)
RANK = {k: r for r, k in enumerate(["dataCollection", "robotAction", "energyScan", "xrfSpectrum", "logbook", "result"])}
T0 = datetime(2024, 3, 1, 10, 0)  # naive facility-local, as SQL keeps it


def utc(local: datetime) -> datetime:
    """A naive local SQL time as UTC, the standard library's way (independent of the service's conversion)."""
    return local.astimezone(UTC)


def ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def add_sql_events(f: Flavour, key: str, at: dict[str, list[datetime | None]]) -> None:
    """Rows of each SQL kind in session ``key`` at the given local times (None: a row without a time)."""
    d = f.data
    session, sample, group = d.sessions[key], d.samples[key], d.groups[key]

    async def write(db: AsyncSession) -> None:
        for t in at.get("dataCollection", []):
            db.add(DataCollection(dataCollectionGroupId=group, startTime=t, numberOfImages=100, imagePrefix="tl"))
        for t in at.get("robotAction", []):
            db.add(RobotAction(blsessionId=session, blsampleId=sample, actionType="LOAD", status="SUCCESS",
                               startTimestamp=t, endTimestamp=t))  # fmt: skip
        for t in at.get("energyScan", []):
            db.add(EnergyScan(sessionId=session, element="Se", edgeEnergy="K", startTime=t))
        for t in at.get("xrfSpectrum", []):
            db.add(XFEFluorescenceSpectrum(sessionId=session, energy=13.5, startTime=t))
        await db.flush()

    f.run(write)


def documents(f: Flavour) -> Any:
    return f.state.documents.db


def insert(f: Flavour, collection: str, docs: list[dict[str, Any]]) -> None:
    async def put() -> None:
        await documents(f)[collection].insert_many(docs)

    f.client.portal.call(put)  # type: ignore[union-attr]


def find(f: Flavour, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    async def get() -> list[dict[str, Any]]:
        return [d async for d in documents(f)[collection].find(query)]

    return f.client.portal.call(get)  # type: ignore[union-attr]


def entry(f: Flavour, key: str, when: datetime, text: str, *, version: int = 1, latest: bool = True) -> dict[str, Any]:
    """A logbook entry in its stored shape (documents/logbook.py)."""
    oid = ObjectId()
    return {
        "_id": oid, "entryId": str(oid), "version": version, "latest": latest, "kind": "note",
        "beamLineName": "tb01" if key == "a" else "tb02", "proposalId": proposal_id(f, key),
        "sessionId": f.data.sessions[key] if key else None, "dataCollectionId": None, "blSampleId": None,
        "resultId": None, "author": {"service": "test"}, "time": ms(when), "createdAt": ms(when), "text": text,
        "tags": [], "attachments": [],
    }  # fmt: skip


def stored_result(f: Flavour, key: str, when: datetime, *, version: int = 1, latest: bool = True) -> dict[str, Any]:
    """A result in its stored shape (documents/results.py), made at ``when``."""
    dc = f.data.dcs[f"{key}0"]
    return {
        "kind": "mx.scaling", "program": {"name": "xia2"}, "status": "success", "automatic": True,
        "dataCollectionIds": [dc], "sweeps": [], "parameters": {}, "data": {"big": "x" * 1000}, "attachments": [],
        "proposalId": proposal_id(f, key), "sessionIds": [f.data.sessions[key]], "series": uuid.uuid4().hex[:24],
        "version": version, "latest": latest, "runId": None, "createdBy": {"personId": 1, "login": "p"},
        "createdAt": ms(when), "updatedAt": ms(when),
    }  # fmt: skip


def proposal_id(f: Flavour, key: str) -> int:
    return int(Caller(f, "admin")("GET", f"/proposals/{f.data.proposals[key]}", 200)["proposalId"])


def brute_force(f: Flavour, key: str) -> list[tuple[datetime, int, Any, str]]:
    """Every event of session ``key`` from the individual routes and the documents, sorted newest first by
    (time in UTC, kind's rank, id)."""
    admin, session = Caller(f, "admin"), f.data.sessions[key]
    events: list[tuple[datetime, int, Any, str]] = []
    every = {"sessionId": session, "limit": 10000}
    groups = [e for e in admin("GET", "/events", 200, params=every)["results"] if e["type"] == "dc"]
    for group in groups:
        group_id = group["Item"]["DataCollectionGroup"]["dataCollectionGroupId"]
        in_group = admin("GET", "/events", 200, params={"dataCollectionGroupId": group_id, "limit": 10000})["results"]
        events += [(utc(parse(e["startTime"])), RANK["dataCollection"], e["id"], "dataCollection") for e in in_group
                   if e["startTime"]]  # fmt: skip
    for kind, name in (("robot", "robotAction"), ("es", "energyScan"), ("xrf", "xrfSpectrum")):
        rows = admin("GET", "/events", 200, params=every | {"eventType": kind})["results"]
        events += [(utc(parse(e["startTime"])), RANK[name], e["id"], name) for e in rows]
    for doc in find(f, "logbook", {"sessionId": session, "latest": True}):
        events.append((doc["time"], RANK["logbook"], doc["entryId"], "logbook"))
    for r in admin("GET", "/results", 200, params={"sessionId": session, "limit": 10000})["results"]:
        events.append((parse(r["createdAt"]), RANK["result"], r["resultId"], "result"))
    return sorted(events, key=lambda e: e[:3], reverse=True)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def walk(call: Caller, session: int, limit: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every event of a timeline, page after page: (events, pages)."""
    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        page = call("GET", f"/sessions/{session}/timeline", 200, params=query)
        assert page["documents"] == {"available": True} and len(page["results"]) <= limit
        seen += page["results"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            return seen, pages
        assert len(page["results"]) == limit


def keys(events: list[dict[str, Any]]) -> list[tuple[datetime, int, Any, str]]:
    return [(parse(e["time"]), RANK[e["type"]], e["id"], e["type"]) for e in events]


@pytest.fixture
def busy(flavour: Flavour) -> Flavour:
    """Session a with events of every kind, several at one instant (T0 + 30 min: one of each kind, twice for some),
    a row without a time, old versions of documents; session b and a beamline-wide entry with events too."""
    f = flavour
    tie = T0 + timedelta(minutes=30)
    add_sql_events(f, "a", {
        "dataCollection": [T0 + timedelta(minutes=m) for m in (1, 7, 30, 30, 44)] + [None],
        "robotAction": [T0 + timedelta(minutes=m) for m in (2, 30, 30, 31)],
        "energyScan": [T0 + timedelta(minutes=m) for m in (3, 30, 50)],
        "xrfSpectrum": [T0 + timedelta(minutes=m) for m in (30, 51, 52)],
    })  # fmt: skip
    add_sql_events(f, "b", {"robotAction": [tie], "energyScan": [tie]})
    notes = [entry(f, "a", utc(T0 + timedelta(minutes=m)), f"note {m}") for m in (0, 5, 30, 30, 45)]
    old = entry(f, "a", utc(T0 + timedelta(minutes=29)), "first words", latest=False)
    notes += [old, {**entry(f, "a", utc(tie), "corrected"), "entryId": old["entryId"], "version": 2}]
    notes += [entry(f, "b", utc(tie), "b's note"), {**entry(f, "a", utc(tie), "beamline"), "sessionId": None}]
    insert(f, "logbook", notes)
    results = [stored_result(f, "a", utc(T0 + timedelta(minutes=m))) for m in (4, 30, 30)]
    results += [stored_result(f, "a", utc(T0 + timedelta(minutes=6)), latest=False), stored_result(f, "b", utc(tie))]
    insert(f, "results", results)
    posted = {"kind": "mx.integration", "program": {"name": "dials"}, "dataCollectionIds": [f.data.dcs["a1"]]}
    Caller(f, "sci_a")("POST", "/results", 201, json=posted)
    return f


def test_pages_merge_like_a_brute_force_merge(busy: Flavour) -> None:
    f, sci = busy, Caller(busy, "sci_a")
    expected = brute_force(f, "a")
    collections, robot, scans, spectra, notes, results = 2 + 5, 1 + 4, 3, 3, 5 + 1, 3 + 1  # the data set's and ours
    assert len(expected) == collections + robot + scans + spectra + notes + results
    tie = utc(T0 + timedelta(minutes=30))
    assert {e[3] for e in expected if e[0] == tie} == set(RANK)  # every kind at one instant
    for limit in (1, 3, 4, 7, 100):
        seen, pages = walk(sci, f.data.sessions["a"], limit)
        assert keys(seen) == expected, limit
        assert pages == max(1, -(-len(expected) // limit))
    oldest_first, _ = walk(sci, f.data.sessions["a"], 5, order="asc")
    assert keys(oldest_first) == expected[::-1]


def test_items_and_summaries(busy: Flavour) -> None:
    f, sci = busy, Caller(busy, "sci_a")
    seen, _ = walk(sci, f.data.sessions["a"], 100)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in seen:
        by_type.setdefault(e["type"], []).append(e)
    robot = Caller(f, "admin")("GET", "/events", 200, params={"sessionId": f.data.sessions["a"], "eventType": "robot",
                                                               "limit": 100})["results"]  # fmt: skip
    assert {e["id"]: e["item"] for e in by_type["robotAction"]} == {r["id"]: r["Item"] for r in robot if r["startTime"]}
    assert all(e["summary"] == "Robot LOAD SUCCESS" for e in by_type["robotAction"])
    assert all(e["summary"] == "Energy scan Se K" for e in by_type["energyScan"])
    assert all(e["summary"] == "XRF spectrum at 13.5 keV" for e in by_type["xrfSpectrum"])
    assert all(e["item"]["dataCollectionId"] == e["id"] for e in by_type["dataCollection"])
    assert {e["summary"] for e in by_type["logbook"]} >= {"note: note 45", "note: corrected"}
    assert "note: first words" not in {e["summary"] for e in by_type["logbook"]}
    posted = next(e for e in by_type["result"] if e["item"]["kind"] == "mx.integration")
    assert posted["summary"] == "mx.integration by dials: running"
    assert all("data" not in e["item"] and e["item"]["resultId"] == e["id"] for e in by_type["result"])
    assert all(parse(e["time"]).utcoffset() == timedelta(0) for e in seen)


def test_kinds_filter(busy: Flavour) -> None:
    f, sci = busy, Caller(busy, "sci_a")
    expected = brute_force(f, "a")
    for kinds in (["logbook"], ["robotAction", "result"], ["dataCollection", "xrfSpectrum", "logbook"]):
        seen, _ = walk(sci, f.data.sessions["a"], 2, kinds=kinds)
        assert keys(seen) == [e for e in expected if e[3] in kinds], kinds


def test_scoping_and_forged_cursors(busy: Flavour) -> None:
    f, d = busy, busy.data
    a, b = d.sessions["a"], d.sessions["b"]
    sci_a, sci_b = Caller(f, "sci_a"), Caller(f, "sci_b")
    for role in ("sci_b", "nobody", "promoted"):
        Caller(f, role)("GET", f"/sessions/{a}/timeline", 404)
    for role in ("staff", "admin"):
        assert len(walk(Caller(f, role), a, 50)[0]) == len(brute_force(f, "a"))
    Caller(f, "staff")("GET", f"/sessions/{b}/timeline", 404)  # staff of tb01 only
    Caller(f, "sci_a")("GET", f"/sessions/{2**32 - 1}/timeline", 404)
    own = sci_b("GET", f"/sessions/{b}/timeline", 200, params={"limit": 100})["results"]
    assert keys(own) == brute_force(f, "b")
    assert {"logbook", "result"} <= {e["type"] for e in own}
    assert not {(e["type"], e["id"]) for e in own} & {(e[3], e[2]) for e in brute_force(f, "a")}
    cursor = sci_a("GET", f"/sessions/{a}/timeline", 200, params={"limit": 2})["next"]
    assert cursor
    body, _, signature = cursor.partition(".")
    forged = [
        f"{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # signature altered
        f"{body[:-2]}{'xy' if body[-2:] != 'xy' else 'zw'}.{signature}",  # position altered
        "x",
        ".",
        "",
        "a" * 500,
        "é.é",
        "$where.1",
        f"{body}.",
    ]
    for bad in forged:
        problem = sci_a("GET", f"/sessions/{a}/timeline", 422, params={"cursor": bad})
        assert "cursor" in str(problem)
    said = sci_b("GET", f"/sessions/{b}/timeline", 422, params={"cursor": cursor})["detail"]  # a's cursor on b
    assert "another session" in said and str(a) not in said
    assert sci_b("GET", f"/sessions/{a}/timeline", 404, params={"cursor": cursor})  # never data of a
    assert "order" in sci_a("GET", f"/sessions/{a}/timeline", 422, params={"cursor": cursor, "order": "asc"})["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0}, {"limit": 10_001}, {"limit": "many"}, {"order": "sideways"}, {"kinds": "nothing"},
        {"kinds": ["logbook", "$gt"]}, {"cursor": "c" * 501},
    ],
)  # fmt: skip
def test_bad_parameters_are_422(flavour: Flavour, params: dict[str, Any]) -> None:
    problem = Caller(flavour, "sci_a")("GET", f"/sessions/{flavour.data.sessions['a']}/timeline", 422, params=params)
    assert problem["status"] == 422


@pytest.mark.parametrize("session", ["0", "-1", str(2**32), "x", "1e3"])
def test_bad_session_ids_are_422(flavour: Flavour, session: str) -> None:
    Caller(flavour, "sci_a")("GET", f"/sessions/{session}/timeline", 422)


def test_document_store_down_leaves_the_sql_events(flavour: Flavour, oidc_key: Any) -> None:
    dead = f"mongodb://127.0.0.1:{free_port()}"
    settings = make_settings(flavour.url, dead, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=300)
    session = flavour.data.sessions["a"]
    with TestClient(create_app(settings)) as client:
        auth = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": f"sci_a_{flavour.name}"}).json()
        headers = {"Authorization": f"Bearer {auth['token']}"}
        r = client.get(f"{API}/sessions/{session}/timeline", headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["documents"] == {"available": False}
        # the data set's session a: two collections (09:00, 09:10) and a robot action (08:50), nothing else
        assert [(e["type"], e["id"]) for e in page["results"]] == [
            ("dataCollection", flavour.data.dcs["a1"]),
            ("dataCollection", flavour.data.dcs["a0"]),
            ("robotAction", page["results"][2]["id"]),
        ]
        only_documents = client.get(f"{API}/sessions/{session}/timeline?kinds=logbook&kinds=result", headers=headers)
        assert only_documents.json()["results"] == [] and only_documents.json()["documents"] == {"available": False}


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The facility (the host) in Paris for one test: CET, CEST from 2024-03-31 02:00 (clocks go to 03:00)."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def test_a_session_across_a_daylight_saving_change(flavour: Flavour, paris: None) -> None:
    f = flavour
    before, after = datetime(2024, 3, 31, 1, 50), datetime(2024, 3, 31, 3, 5)  # local: 00:50Z and 01:05Z
    add_sql_events(f, "a", {"robotAction": [before], "energyScan": [after]})
    n1, n2 = (datetime(2024, 3, 31, 0, 55, tzinfo=UTC), datetime(2024, 3, 31, 1, 2, tzinfo=UTC))
    insert(f, "logbook", [entry(f, "a", n1, "between"), entry(f, "a", n2, "just before the scan")])
    seen = Caller(f, "sci_a")("GET", f"/sessions/{f.data.sessions['a']}/timeline", 200, params={"limit": 4})
    assert [(e["type"], parse(e["time"])) for e in seen["results"]] == [
        ("energyScan", datetime(2024, 3, 31, 1, 5, tzinfo=UTC)),
        ("logbook", n2),
        ("logbook", n1),
        ("robotAction", datetime(2024, 3, 31, 0, 50, tzinfo=UTC)),
    ]
    oldest_first, _ = walk(Caller(f, "sci_a"), f.data.sessions["a"], 1, order="asc")
    assert [e["summary"] for e in oldest_first[-4:]] == [
        "Robot LOAD SUCCESS", "note: between", "note: just before the scan", "Energy scan Se K"
    ]  # fmt: skip


def test_documents_far_apart_and_on_slice_bounds(flavour: Flavour) -> None:
    """Entries exactly 1, 2, 3, 4 h from each other (the document reads' slice bounds), days, years and decades
    apart, one in the future: each once, in order, one per page, both ways."""
    f = flavour
    mid = utc(T0)
    offsets = [timedelta(hours=h) for h in (-4, -3, -2, -1, 0, 1, 2, 3, 4, 6)]
    offsets += [timedelta(days=d) for d in (-3, 3, -365 * 5, 365 * 2, -365 * 20, -365 * 60)]
    insert(f, "logbook", [entry(f, "a", mid + o, f"at {o}") for o in offsets])
    insert(f, "logbook", [entry(f, "a", datetime.now(UTC) + timedelta(days=2), "ahead")])
    expected = brute_force(f, "a")
    assert len([e for e in expected if e[3] == "logbook"]) == len(offsets) + 1
    for order, wanted in (("desc", expected), ("asc", expected[::-1])):
        seen, pages = walk(Caller(f, "sci_a"), f.data.sessions["a"], 1, order=order)
        assert keys(seen) == wanted, order
        assert pages == len(wanted)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The facility west of Greenwich (UTC-5), where year 1 and year 9999 lie beyond a datetime once converted."""
    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def test_the_ends_of_time(flavour: Flavour, new_york: None) -> None:
    f = flavour
    add_sql_events(f, "a", {"dataCollection": [datetime(9999, 12, 31, 23, 30)], "robotAction": [datetime(1970, 1, 2)]})
    insert(f, "logbook", [entry(f, "a", datetime(1, 1, 1, 0, 30, tzinfo=UTC), "first of all")])
    insert(f, "logbook", [entry(f, "a", datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "last of all")])
    every = {(e["type"], e["id"]) for e in Caller(f, "sci_a")("GET", f"/sessions/{f.data.sessions['a']}/timeline",
                                                               200, params={"limit": 100})["results"]}  # fmt: skip
    assert len(every) == 7  # the data set's 3, and ours
    for order in ("desc", "asc"):
        seen, _ = walk(Caller(f, "sci_a"), f.data.sessions["a"], 1, order=order)
        assert {(e["type"], e["id"]) for e in seen} == every and len(seen) == 7, order
        oldest = seen[-1] if order == "desc" else seen[0]
        assert oldest["summary"] == "note: first of all"
        # local 9999-12-31 23:30 is past the last UTC moment a datetime holds: shown as that moment, first
        assert (seen[0] if order == "desc" else seen[-1])["time"] == "9999-12-31T23:59:59.999999Z"
