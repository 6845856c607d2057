"""Idempotency-Key on acquisition writes (app/idempotency.py): a retry answers the first answer and writes nothing,
on both flavours. Most cases run a probe route of this module, which writes as the acquisition routes do (a group
and a collection through the ORM, a Warning header, string and array ids) and can be made to fail after writing
or to wait inside its write, in an app of its own over the committing database (its commits are real)."""

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pymongo import MongoClient
from sqlalchemy import func, select

from app.cli.embedded import free_port
from app.deps import WriteSessionDep
from app.idempotency import HEADER, REPLAYED, OnceDep, fingerprint, once
from app.main import create_app
from app.settings import Settings
from relational.models import (
    BLSession,
    DataCollection,
    Image,
    Permission,
    RobotAction,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
)
from relational.models import DataCollectionGroup as Group
from schemas.errors import InvalidInput
from schemas.times import utc_now
from tests import factories
from tests.conftest import Flavour

API = "/ispyb/api/v1"
PROBE = f"{API}/probe/collections"


class Probe:
    """What the probe route does next: fail once after writing, or hold inside its write until released."""

    def __init__(self) -> None:
        self.fail_next = False
        self.hold = False
        self.entered = threading.Event()
        self.release = threading.Event()


class ProbeBody(BaseModel):
    sessionId: int
    comments: str


def probe_app(settings: Settings, probe: Probe) -> FastAPI:
    """The service and ``POST /probe/collections``: a group and a collection, answered 201
    ``{"ids": [dcId, groupId], "id": "<dcId>"}`` with a ``Warning`` header, through ``OnceDep``."""
    router = APIRouter(prefix=f"{API}/probe")

    @router.post("/collections", status_code=201)
    async def add(body: ProbeBody, db: WriteSessionDep, once: OnceDep, response: Response) -> Any:
        response.headers["Warning"] = '299 ispyb "probe"'

        async def write() -> dict[str, Any]:
            group = Group(sessionId=body.sessionId, experimentType="OSC", comments=body.comments)
            db.add(group)
            await db.flush()
            db.add(dc := DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, comments=body.comments))
            await db.flush()
            if probe.fail_next:
                probe.fail_next = False
                raise InvalidInput("the probe fails once, after writing")
            probe.entered.set()
            if probe.hold:
                await asyncio.to_thread(probe.release.wait, 10)
            return {"ids": [dc.dataCollectionId, group.dataCollectionGroupId], "id": str(dc.dataCollectionId)}

        return await once(write)

    app = create_app(settings)
    app.include_router(router)
    return app


@contextmanager
def probing(flavour: Flavour, **changes: Any) -> Iterator[tuple[TestClient, Probe]]:
    """A client of the probe app (``changes``: settings that differ from the flavour's)."""
    probe = Probe()
    with TestClient(probe_app(flavour.settings.model_copy(update=changes), probe)) as client:
        yield client, probe


@contextmanager
def served(flavour: Flavour, probe: Probe) -> Iterator[str]:
    """The probe app under uvicorn in a thread (requests truly concurrent); its base URL."""
    port = free_port()
    config = uvicorn.Config(probe_app(flavour.settings, probe), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before serving"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@contextmanager
def keys_of(flavour: Flavour) -> Iterator[Any]:
    """The document store's idempotency collection, read and changed directly."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(flavour.settings.mongo_url) as client:
        yield client[flavour.settings.mongo_db].idempotency


def marker() -> str:
    return f"idem-{secrets.token_hex(6)}"


def body_of(flavour: Flavour, comments: str) -> dict[str, Any]:
    return {"sessionId": flavour.data.sessions["a"], "comments": comments}


def with_key(flavour: Flavour, key: str, role: str = "sci_a") -> dict[str, str]:
    return flavour.token(role) | {HEADER: key}


def rows(flavour: Flavour, comments: str) -> tuple[int, int]:
    """(groups, collections) committed with these comments."""

    def counted(model: type[Group] | type[DataCollection]) -> int:
        query = select(func.count()).select_from(model).where(model.comments == comments)
        return asyncio.run(factories.count_at(flavour.url, query))

    return counted(Group), counted(DataCollection)


def claim_id(flavour: Flavour, key: str, role: str = "sci_a") -> str:
    return f"person:{flavour.data.persons[role]} {key}"


@pytest.mark.commits
def test_a_retry_answers_the_first_answer_and_writes_nothing(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    with probing(flavour) as (client, _):
        first = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        again = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert first.status_code == again.status_code == 201, first.text
        assert again.content == first.content and again.headers["Warning"] == first.headers["Warning"]
        assert again.headers[REPLAYED] == "true" and REPLAYED not in first.headers
        answer = first.json()
        assert isinstance(answer["id"], str) and isinstance(answer["ids"], list)  # JSON types kept
        assert rows(flavour, comments) == (1, 1)
        dc = answer["ids"][0]
        assert answer == {"ids": [dc, answer["ids"][1]], "id": str(dc)}
        # the same body without a key, or with another key, is another write
        assert client.post(PROBE, json=body_of(flavour, comments), headers=flavour.token("sci_a")).status_code == 201
        other = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, marker()))
        assert other.status_code == 201 and other.json() != answer
        assert rows(flavour, comments) == (3, 3)
    with keys_of(flavour) as keys:
        assert keys.find_one({"_id": claim_id(flavour, key)})["state"] == "done"


@pytest.mark.commits
def test_the_same_key_for_another_request_is_422(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    with probing(flavour) as (client, _):
        assert client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key)).status_code == 201
        # same meaning, keys in another order and other spacing: the same request
        text = json.dumps(dict(reversed(body_of(flavour, comments).items())), indent=2)
        same = client.post(PROBE, content=text, headers=with_key(flavour, key) | {"Content-Type": "application/json"})
        assert same.status_code == 201 and same.headers[REPLAYED] == "true"
        other = client.post(PROBE, json=body_of(flavour, comments + "x"), headers=with_key(flavour, key))
        assert other.status_code == 422, other.text
        assert HEADER in other.json()["detail"] and other.json()["errors"][0]["loc"] == ["header", HEADER]
        assert rows(flavour, comments) == (1, 1) and rows(flavour, comments + "x") == (0, 0)


@pytest.mark.commits
def test_keys_are_per_caller(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    with probing(flavour) as (client, _):
        a = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key, "sci_a"))
        b = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key, "staff"))
        assert a.status_code == b.status_code == 201 and REPLAYED not in b.headers and a.json() != b.json()
        assert rows(flavour, comments) == (2, 2)


@pytest.mark.commits
@pytest.mark.parametrize("key", [b"", b"k" * 256, "caf\u00e9".encode(), b"tab\there", b"del\x7f"])
def test_a_malformed_key_is_422(flavour: Flavour, key: bytes) -> None:
    comments = marker()
    with probing(flavour) as (client, _):
        headers: dict[str, str | bytes] = {**flavour.token("sci_a"), HEADER: key}
        r = client.post(PROBE, json=body_of(flavour, comments), headers=headers)
        assert r.status_code == 422, r.text
        assert ["header", HEADER] in [e["loc"] for e in r.json()["detail"]]
        longest = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, "~ " * 127 + "!"))
        assert longest.status_code == 201, longest.text
        assert rows(flavour, comments) == (1, 1)


@pytest.mark.commits
def test_a_rolled_back_first_attempt_lets_the_retry_run(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    with probing(flavour) as (client, probe):
        probe.fail_next = True
        failed = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert failed.status_code == 422 and rows(flavour, comments) == (0, 0)
        with keys_of(flavour) as keys:
            assert keys.find_one({"_id": claim_id(flavour, key)}) is None  # an error answer is never kept
        retry = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert retry.status_code == 201 and REPLAYED not in retry.headers
        assert rows(flavour, comments) == (1, 1)


@pytest.mark.commits
def test_a_key_in_flight_answers_409_then_the_first_answer(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    probe = Probe()
    probe.hold = True
    with served(flavour, probe) as base, ThreadPoolExecutor(1) as pool:

        def send() -> httpx.Response:
            return httpx.post(base + PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))

        first = pool.submit(send)
        assert probe.entered.wait(10)
        busy = send()
        assert busy.status_code == 409 and 1 <= int(busy.headers["Retry-After"]) <= 5, busy.text
        probe.release.set()
        answered = first.result(10)
        assert answered.status_code == 201, answered.text
        again = send()
        assert again.status_code == 201 and again.content == answered.content and again.headers[REPLAYED] == "true"
    assert rows(flavour, comments) == (1, 1)


@pytest.mark.commits
def test_concurrent_attempts_store_one_row(flavour: Flavour) -> None:
    comments, headers = marker(), with_key(flavour, marker())
    with served(flavour, Probe()) as base, ThreadPoolExecutor(8) as pool:

        def send(_: int) -> httpx.Response:
            return httpx.post(base + PROBE, json=body_of(flavour, comments), headers=headers)

        answers = list(pool.map(send, range(8)))
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    assert rows(flavour, comments) == (1, 1)


def _left_behind(flavour: Flavour, key: str, comments: str, **fields: Any) -> None:
    """A claim as an attempt that died would leave it (``fields`` over a fresh pending claim)."""
    now = utc_now()
    request = fingerprint("POST", PROBE, "", json.dumps(body_of(flavour, comments)).encode())
    doc = {"_id": claim_id(flavour, key), "request": request, "token": "dead", "state": "pending"}
    doc |= {"leaseUntil": now + timedelta(seconds=30), "expiresAt": now + timedelta(hours=1)} | fields
    with keys_of(flavour) as keys:
        keys.insert_one(doc)


@pytest.mark.commits
def test_a_claim_left_pending_waits_for_its_lease_then_runs(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    _left_behind(flavour, key, comments)
    with probing(flavour) as (client, _):
        busy = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert busy.status_code == 409 and busy.headers["Retry-After"] and rows(flavour, comments) == (0, 0)
        with keys_of(flavour) as keys:
            keys.update_one({"_id": claim_id(flavour, key)}, {"$set": {"leaseUntil": utc_now() - timedelta(seconds=1)}})
        ran = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert ran.status_code == 201 and REPLAYED not in ran.headers, ran.text
        assert rows(flavour, comments) == (1, 1)


@pytest.mark.commits
def test_a_claim_left_committing_is_decided_by_its_rows(flavour: Flavour) -> None:
    """Its attempt recorded the answer and died: replayed if its rows were committed, run again if not."""
    comments, key = marker(), marker()
    with probing(flavour) as (client, _):
        first = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        with keys_of(flavour) as keys:
            keys.update_one({"_id": claim_id(flavour, key)}, {"$set": {"state": "committing"}})
        replayed = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert replayed.content == first.content and replayed.headers[REPLAYED] == "true"
        assert rows(flavour, comments) == (1, 1)
        with keys_of(flavour) as keys:
            stored = cast(dict[str, Any], keys.find_one({"_id": claim_id(flavour, key)}))
        assert stored["state"] == "done"

        other, key2 = marker(), marker()
        missing = [{"table": "DataCollection", "key": {"dataCollectionId": 2**31 - 1}}]
        _left_behind(flavour, key2, other, state="committing", answer=stored["answer"], rows=missing)
        ran = client.post(PROBE, json=body_of(flavour, other), headers=with_key(flavour, key2))
        assert ran.status_code == 201 and REPLAYED not in ran.headers and ran.content != first.content
        assert rows(flavour, other) == (1, 1)


@pytest.mark.commits
def test_an_expired_key_is_used_anew(flavour: Flavour) -> None:
    comments, key = marker(), marker()
    with probing(flavour) as (client, _):
        first = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        with keys_of(flavour) as keys:
            stored = cast(dict[str, Any], keys.find_one({"_id": claim_id(flavour, key)}))
            hours = (stored["expiresAt"] - utc_now().replace(tzinfo=None)).total_seconds() / 3600
            assert abs(hours - flavour.settings.idempotency_hours) < 0.1
            assert keys.index_information()["expiry"]["expireAfterSeconds"] == 0
            keys.update_one({"_id": stored["_id"]}, {"$set": {"expiresAt": utc_now() - timedelta(seconds=1)}})
        again = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, key))
        assert again.status_code == 201 and REPLAYED not in again.headers and again.content != first.content
        assert rows(flavour, comments) == (2, 2)


@pytest.mark.commits
def test_with_the_document_store_down_a_key_answers_503_and_writes_nothing(flavour: Flavour) -> None:
    comments = marker()
    down = {"mongo_url": f"mongodb://127.0.0.1:{free_port()}", "mongo_timeout_ms": 300}
    with probing(flavour, **down) as (client, _):
        r = client.post(PROBE, json=body_of(flavour, comments), headers=with_key(flavour, marker()))
        assert r.status_code == 503 and r.headers["Retry-After"], r.text
        assert rows(flavour, comments) == (0, 0)
        # without a key the store is not needed
        assert client.post(PROBE, json=body_of(flavour, comments), headers=flavour.token("sci_a")).status_code == 201
        assert rows(flavour, comments) == (1, 1)


# the acquisition routes, as MXCuBE's adapter calls them (isolated: rolled back at the end)


def _count(flavour: Flavour, model: Any) -> int:
    return flavour.run(factories.count, select(func.count()).select_from(model))


def _twice(flavour: Flavour, method: str, path: str, headers: dict[str, str], **request: Any) -> Any:
    """Send a write, then its retry with the same key: the retry replays the first answer; the first answer."""
    first = flavour.client.request(method, f"{API}{path}", headers=headers, **request)
    assert first.status_code in (200, 201) and REPLAYED not in first.headers, first.text
    again = flavour.client.request(method, f"{API}{path}", headers=headers, **request)
    assert (again.status_code, again.content, again.headers[REPLAYED]) == (first.status_code, first.content, "true")
    return first.json()


def test_the_adapter_s_writes_retried_store_once(flavour: Flavour) -> None:
    f, session = flavour, flavour.data.sessions["a"]

    def keyed() -> dict[str, str]:
        return with_key(f, marker(), "staff")  # a new key per write

    async def proposal_of(db: Any) -> int:
        return int((await db.execute(select(BLSession.proposalId).where(BLSession.sessionId == session))).scalar_one())

    before = {m: _count(f, m) for m in (BLSession, Group, DataCollection, Image, RobotAction)}
    proposal = f.run(proposal_of)
    opened: dict[str, Any] = {
        "proposalId": str(proposal),
        "startDate": "2026-12-02T00:00:00Z",
        "endDate": "2026-12-02T23:59:59Z",
    }
    opened |= {"beamLineName": factories.BEAMLINE_A, "comments": "by MXCuBE", "scheduled": False}
    assert _twice(f, "POST", "/sessions", keyed(), json=opened)["sessionId"] > 0

    collection = {"sessionId": str(session), "group_id": None, "experiment_type": "OSC", "comments": marker()}
    stored = _twice(f, "POST", "/datacollections/datacollection", keyed(), json=collection)
    dc, group = stored["dataCollectionId"], stored["dataCollectionGroupId"]
    update = collection | {"collection_id": dc, "group_id": group, "status": "Data collection successful"}
    assert _twice(f, "POST", "/datacollections/datacollection", keyed(), json=update) == [dc, group]

    image = {"dataCollectionId": dc, "imageNumber": 1, "fileName": "x_0001.cbf", "fileLocation": "/data"}
    assert _twice(f, "POST", "/images/image", keyed(), json=image)["dataCollectionId"] == dc

    robot = {"actionType": "LOAD", "sessionId": str(session), "blSampleId": f.data.samples["a"], "status": "SUCCESS"}
    action = _twice(f, "POST", "/events/robot-action", keyed(), json=robot)
    assert isinstance(action, str) and action.isdigit()  # a JSON string stays a string

    after = {m: _count(f, m) for m in before}
    assert after == {BLSession: before[BLSession] + 1, Group: before[Group] + 1,
                     DataCollection: before[DataCollection] + 1, Image: before[Image] + 1,
                     RobotAction: before[RobotAction] + 1}  # fmt: skip


def test_a_key_reused_on_another_route_is_422(flavour: Flavour) -> None:
    f, headers = flavour, with_key(flavour, marker(), "staff")
    collection = {"sessionId": str(f.data.sessions["a"]), "group_id": None, "comments": marker()}
    r = f.client.post(f"{API}/datacollections/datacollection", json=collection, headers=headers)
    assert r.status_code == 201, r.text
    groups = _count(f, Group)
    again = f.client.post(f"{API}/datacollections/group", json=collection, headers=headers)
    assert again.status_code == 422 and HEADER in again.json()["detail"], again.text
    assert _count(f, Group) == groups


def test_an_api_key_keeps_keys_of_its_own(flavour: Flavour) -> None:
    """An API key acts as its person; the same Idempotency-Key sent with the person's login is another write."""
    f = flavour

    async def may_manage_keys(db: Any) -> None:
        group, permission = UserGroup(name=f"g_{marker()}"), Permission(type="manage_api_keys")
        db.add_all([group, permission])
        await db.flush()
        db.add(UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=permission.permissionId))
        db.add(UserGroupHasPerson(userGroupId=group.userGroupId, personId=f.data.persons["admin"]))

    f.run(may_manage_keys)
    body = {"name": "mxcube", "login": f"staff_{f.name}", "permissions": [factories.STAFF_PERMISSION], "days": 1}
    created = f.client.post(f"{API}/api-keys", json=body, headers=f.token("admin"))
    assert created.status_code == 201, created.text
    key = marker()
    as_key = {"Authorization": f"Bearer {created.json()['key']}", HEADER: key}
    collection = {"sessionId": str(f.data.sessions["a"]), "group_id": None, "comments": marker()}
    before = _count(f, DataCollection)
    by_key = _twice(f, "POST", "/datacollections/datacollection", as_key, json=collection)
    by_login = _twice(f, "POST", "/datacollections/datacollection", with_key(f, key, "staff"), json=collection)
    assert by_key != by_login and _count(f, DataCollection) == before + 2


def test_every_write_that_takes_a_key_declares_its_answers() -> None:
    """Each route using ``OnceDep`` declares 409 (a key in flight), 422 (a key reused or malformed) and 503/504
    (the document store), and the MXCuBE writes all take it."""
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    app = create_app(settings)
    spec = app.openapi()

    def takes_once(dependant: Any) -> bool:
        return any(d.call is once or takes_once(d) for d in dependant.dependencies)

    found = {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(route := context.original_route, APIRoute) and takes_once(route.dependant)
        for method in route.methods or ()
    }
    assert {
        ("POST", f"{API}/sessions"),
        ("PATCH", f"{API}/sessions/{{sessionId}}/associate-beamline-setup"),
        ("POST", f"{API}/beamline-setups/beamline-setup"),
        ("POST", f"{API}/datacollections/group"),
        ("POST", f"{API}/datacollections/datacollection"),
        ("POST", f"{API}/images/image"),
        ("POST", f"{API}/events/robot-action"),
        ("POST", f"{API}/events/energyscan"),
        ("PATCH", f"{API}/events/energyscan/associate-bl-sample"),
        ("POST", f"{API}/events/xfe-fluorescence-spectrum"),
    } <= found
    for method, path in found:
        declared = spec["paths"][path][method.lower()]["responses"]
        assert {"409", "422", "503", "504"} <= set(declared), (method, path)
