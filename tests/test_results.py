"""Results and metrics in the document store, over the wire and on both flavours: references checked in SQL,
versions, idempotency under concurrency, bulk NDJSON, kinds, scoping, unified responses, degraded mode."""

import asyncio
import hashlib
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.cli.embedded import DocumentServer
from app.main import create_app
from documents import batched, results
from documents.indexes import RESULTS_BY_COLLECTION
from relational.models import DataCollection
from schemas.times import local_now
from tests.conftest import Flavour, make_settings
from tests.factories import add_collection, add_session_with_group
from tests.test_shipping import Caller, uid

API = "/ispyb/api/v1"


def result(dcs: list[int], program: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "mx.autoproc", "program": {"name": program, "version": "1.0"}, "dataCollectionIds": dcs} | extra


def three_collections(f: Flavour, member: bool) -> list[int]:
    """Three collections of a new proposal of sci_a's (a member of it or not)."""
    end = local_now() - timedelta(days=2)
    group = f.run(add_session_with_group, f.data.persons["sci_a"], uid()[:6], end, member)
    return [f.run(add_collection, group)[1] for _ in range(3)]


@pytest.fixture
def sci(flavour: Flavour) -> Caller:
    return Caller(flavour, "sci_a")


def test_multi_sweep_result_and_its_references(flavour: Flavour, sci: Caller) -> None:
    dcs = three_collections(flavour, member=True)
    sweeps = [{"dataCollectionId": dc, "imageStart": 1, "imageEnd": 900} for dc in dcs]
    made = sci("POST", "/results", 201, json=result(dcs, f"xia2-{uid()}", sweeps=sweeps, data={"spaceGroup": "P21"}))
    assert made["dataCollectionIds"] == sorted(dcs) and made["version"] == 1 and made["latest"] is True
    assert (
        made["status"] == "running"
        and len(made["sessionIds"]) == 1
        and made["createdBy"]["login"] == "sci_a_" + flavour.name
    )
    d = flavour.data
    sci("POST", "/results", 404, json=result([d.dcs["a0"], d.dcs["b0"]], "xia2"))
    sci("POST", "/results", 404, json=result([99_999_999], "xia2"))
    pipeline = Caller(flavour, "pipeline")
    assert "one proposal" in pipeline("POST", "/results", 422, json=result([d.dcs["a0"], d.dcs["b0"]], "x"))["detail"]
    assert pipeline("POST", "/results", 201, json=result(three_collections(flavour, member=False), "x"))["version"] == 1
    Caller(flavour, "staff")("POST", "/results", 403, json=result([d.dcs["a0"]], "xia2"))  # sees it, not a member


def test_versions_chain_and_nothing_is_overwritten(flavour: Flavour, sci: Caller) -> None:
    dc, program = flavour.data.dcs["a0"], f"autoPROC-{uid()}"
    made = [sci("POST", "/results", 201, json=result([dc], program, data={"run": n})) for n in (1, 2, 3)]
    assert [m["version"] for m in made] == [1, 2, 3] and len({m["series"] for m in made}) == 1
    latest = sci("GET", "/results", 200, params={"dataCollectionId": dc, "program": program})
    assert [(r["version"], r["data"]["run"]) for r in latest["results"]] == [(3, 3)]
    every = sci("GET", "/results", 200, params={"dataCollectionId": dc, "program": program, "allVersions": True})
    assert sorted(r["version"] for r in every["results"]) == [1, 2, 3]
    first = sci("GET", f"/results/{made[0]['resultId']}", 200)
    assert first["data"] == {"run": 1} and first["latest"] is False
    chain = sci("GET", f"/results/{made[0]['resultId']}/versions", 200)
    assert [v["version"] for v in chain] == [1, 2, 3]


def test_running_results_progress_with_set_then_stay(flavour: Flavour, sci: Caller) -> None:
    made = sci("POST", "/results", 201, json=result([flavour.data.dcs["a1"]], f"p-{uid()}", data={"a": 1, "b": 2}))
    path = f"/results/{made['resultId']}"
    step = sci("PATCH", path, 200, json={"data": {"b": 3}, "attachments": [{"path": "/tmp/x.log", "type": "log"}]})
    assert step["data"] == {"a": 1, "b": 3} and step["attachments"][0]["type"] == "log"
    assert sci("PATCH", path, 200, json={"status": "success"})["status"] == "success"
    sci("PATCH", path, 409, json={"data": {"late": True}})
    Caller(flavour, "sci_b")("PATCH", path, 404, json={"status": "failed"})


def test_concurrent_retries_store_one_result(flavour: Flavour) -> None:
    body = result([flavour.data.dcs["a0"]], f"retry-{uid()}")
    headers = flavour.token("sci_a") | {"Idempotency-Key": f"k-{uid()}"}

    async def run() -> list[httpx.Response]:
        app = create_app(flavour.settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                posts = [client.post(f"{API}/results", json=body, headers=headers) for _ in range(20)]
                return await asyncio.gather(*posts)

    answers = asyncio.run(run())
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201]
    assert len({r.json()["resultId"] for r in answers}) == 1
    found = Caller(flavour, "sci_a")("GET", "/results", 200, params={"program": body["program"]["name"]})
    assert found["total"] == 1


def test_a_key_used_again_for_another_result_is_refused_and_the_first_stays(flavour: Flavour, sci: Caller) -> None:
    """The same Idempotency-Key (or runId) with another result: 422 naming the key, nothing stored; the same
    result again still answers the first (200)."""
    dcs = [flavour.data.dcs["a0"]]
    first = result(dcs, f"keyed-{uid()}")
    headers = {"Idempotency-Key": f"k-{uid()}"}
    stored = sci("POST", "/results", 201, json=first, headers=headers)
    other = first | {"data": {"changed": True}}
    refused = sci("POST", "/results", 422, json=other, headers=headers)
    assert "Idempotency-Key" in refused["detail"] and refused["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert sci("POST", "/results", 200, json=first, headers=headers)["resultId"] == stored["resultId"]
    run = first | {"program": {"name": f"run-{uid()}"}, "runId": f"run-{uid()}"}
    sci("POST", "/results", 201, json=run)
    assert sci("POST", "/results", 422, json=run | {"status": "failed"})["errors"][0]["loc"] == ["body", "runId"]
    found = sci("GET", "/results", 200, params={"program": first["program"]["name"]})
    assert found["total"] == 1 and found["results"][0]["resultId"] == stored["resultId"]
    assert sci("GET", f"/results/{stored['resultId']}", 200)["data"] == stored["data"] != other["data"]
    session, rid = stored["sessionIds"][0], stored["resultId"]
    timeline = sci("GET", f"/sessions/{session}/timeline", 200, params={"kinds": "result", "limit": 10_000})
    assert rid in json.dumps(timeline)
    shown = [sci("GET", path, 200) for path in (f"/results/{rid}", f"/results/{rid}/versions")]
    for answer in (json.dumps(a) for a in [*shown, timeline]):  # the service's, not the client's to read
        assert "idempotencyRequest" not in answer and "idempotencyKey" not in answer


def test_bulk_ndjson_keeps_good_lines_and_numbers_bad_ones(flavour: Flavour, sci: Caller) -> None:
    dc = three_collections(flavour, member=True)[0]
    ctf = '{"kind": "em.ctf", "dataCollectionId": DC, "values": {"estimatedResolution": "x"}}'
    bad = {
        17: "{not json",
        250: ctf,
        999: '{"kind": "em.ctf", "values": {}}',
        4000: '{"kind": "x.y", "dataCollectionId": 99999999, "values": {}}',
        5001: '{"kind": "x.y", "dataCollectionId": DC, "values": {"$gt": 1}}',
        7777: '{"kind": "x.y", "dataCollectionId": DC, "values": {"v": NaN}}',
        9999: '{"kind": "x.y", "dataCollectionId": DC, "values": {}, "extra": 1}',
    }
    bad = {n: line.replace("DC", str(dc)) for n, line in bad.items()}
    tag = uid()
    lines = [
        bad.get(n) or json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": {"imageNumber": n, "note": tag}})
        for n in range(1, 10_001)
    ]
    report = sci("POST", "/metrics/bulk", 200, content="\n".join(lines).encode())
    assert report["lines"] == 10_000 and report["accepted"] == 9_993 and report["duplicates"] == 0
    assert [r["line"] for r in report["rejected"]] == sorted(bad)
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert "$.values.estimatedResolution" in reasons[250] and "not found" in reasons[4000] and "`$`" in reasons[5001]
    params = {"dataCollectionId": dc, "kind": "em.ctf", "range": "imageNumber:1:10000", "limit": 10_000}
    stored = sci("GET", "/metrics", 200, params=params)
    # exact either way: a count over ISPYB_MONGO_COUNT_TIMEOUT_MS gives the rows up to this page's end
    assert stored["total"] == len(stored["results"]) == 9_993


def test_a_retried_bulk_upload_stores_nothing_twice(flavour: Flavour, sci: Caller) -> None:
    dc, kind = flavour.data.dcs["a0"], f"custom.k{uid().lower()}"
    body = "\n".join(json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"v": i}}) for i in range(50))
    headers = {"Idempotency-Key": f"bulk-{uid()}"}
    assert sci("POST", "/metrics/bulk", 200, content=body, headers=headers)["accepted"] == 50
    again = sci("POST", "/metrics/bulk", 200, content=body, headers=headers)
    assert (again["accepted"], again["duplicates"]) == (0, 50)
    assert sci("GET", "/metrics", 200, params={"kind": kind})["total"] == 50


def test_a_retried_upload_with_other_lines_under_the_same_keys_refuses_them(flavour: Flavour, sci: Caller) -> None:
    """A line whose key (the Idempotency-Key and its number, or its own ``key``) holds another line is rejected with
    why, not counted a duplicate; the line stored first stays, and the same lines again (also written otherwise:
    the same JSON values) are duplicates."""
    dc, kind = flavour.data.dcs["a0"], f"custom.k{uid().lower()}"
    lines = [json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"v": i}}) for i in range(6)]
    keyed = json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"v": 100}, "key": f"own-{uid()}"})
    headers = {"Idempotency-Key": f"bulk-{uid()}"}
    assert sci("POST", "/metrics/bulk", 200, content="\n".join([*lines, keyed]), headers=headers)["accepted"] == 7
    changed = [*lines[:4], lines[4].replace('"v": 4', '"v": 40'), lines[5], keyed.replace("100", "101")]
    again = sci("POST", "/metrics/bulk", 200, content="\n".join(changed), headers=headers)
    assert (again["accepted"], again["duplicates"]) == (0, 5), again
    assert [r["line"] for r in again["rejected"]] == [5, 7] and "holds another line" in again["rejected"][0]["reason"]
    values = sorted(m["values"]["v"] for m in sci("GET", "/metrics", 200, params={"kind": kind})["results"])
    assert values == [0, 1, 2, 3, 4, 5, 100]
    same = sci("POST", "/metrics/bulk", 200, content="\n".join([*lines, keyed]), headers=headers)
    assert (same["accepted"], same["duplicates"], same["rejected"]) == (0, 7, [])
    # the same JSON values written otherwise (keys in another order, other spacing, escaped characters)
    rewritten = [json.dumps(json.loads(line), sort_keys=True, indent=1).replace("\n", "") for line in lines]
    own = json.loads(keyed)
    rewritten.append(json.dumps({"key": own["key"], "values": own["values"], "dataCollectionId": dc, "kind": kind}))
    rewritten[0] = rewritten[0].replace('"kind"', '"\\u006bind"')
    same = sci("POST", "/metrics/bulk", 200, content="\n".join(rewritten), headers=headers)
    assert (same["accepted"], same["duplicates"], same["rejected"]) == (0, 7, []), same


def test_a_keyed_line_stored_with_the_digest_of_its_bytes_is_the_same_line_sent_again(
    flavour: Flavour, sci: Caller
) -> None:
    """Lines stored before 2026-12-07 carry the digest of their bytes: the same line sent again is a duplicate, and
    another line under its key is still refused."""
    dc, kind, key = flavour.data.dcs["a0"], f"custom.k{uid().lower()}", f"own-{uid()}"
    line = json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"v": 1}, "key": key})
    assert sci("POST", "/metrics/bulk", 200, content=line)["accepted"] == 1
    metrics, portal = flavour.state.documents.db.metrics, flavour.client.portal
    assert portal is not None
    legacy = {"$set": {"idempotencyRequest": hashlib.sha256(line.encode()).hexdigest()}}
    assert portal.call(metrics.update_many, {"kind": kind}, legacy).modified_count == 1
    again = sci("POST", "/metrics/bulk", 200, content=line)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 1, []), again
    other = sci("POST", "/metrics/bulk", 200, content=line.replace('"v": 1', '"v": 2'))
    assert other["duplicates"] == 0 and "holds another line" in other["rejected"][0]["reason"], other


def test_registered_kinds_validate_with_paths(flavour: Flavour, sci: Caller) -> None:
    kind = f"mx.custom{uid().lower()}"
    schema = {"type": "object", "properties": {"score": {"type": "number", "unit": "Å", "description": "a score"}},
              "required": ["score"]}  # fmt: skip
    sci("POST", "/result-kinds", 403, json={"kind": kind, "target": "result", "schema": schema})
    admin = Caller(flavour, "admin")
    admin("POST", "/result-kinds", 201, json={"kind": kind, "target": "result", "schema": schema})
    admin("POST", "/result-kinds", 409, json={"kind": kind, "target": "result", "schema": schema})
    admin("POST", "/result-kinds", 422, json={"kind": f"{kind}x", "target": "result", "schema": {"type": 12}})
    info = sci("GET", f"/result-kinds/{kind}", 200)
    assert info["fields"]["score"] == {"type": "number", "description": "a score", "unit": "Å"}
    assert sci("GET", "/result-kinds/em.ctf", 200)["fields"]["estimatedResolution"]["unit"] == "Å"
    body = result([flavour.data.dcs["a0"]], "p") | {"kind": kind, "data": {"score": "high"}}
    assert "$.data.score" in sci("POST", "/results", 422, json=body)["detail"]
    assert sci("POST", "/results", 201, json=body | {"data": {"score": 1.5}})["data"] == {"score": 1.5}


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"$where": "sleep(1)"}, 422, "may not start with `$`"),
        ({"a.b": 1}, 422, "contain `.`"),
        ({"deep": json.loads("[" * 30 + "]" * 30)}, 422, "nested deeper"),
        ({"blob": "x" * 1_100_000}, 413, "byte limit"),
    ],
)
def test_unsafe_documents_are_refused(
    flavour: Flavour, sci: Caller, data: dict[str, Any], status: int, says: str
) -> None:
    program = f"bad-{uid()}"
    assert says in sci("POST", "/results", status, json=result([flavour.data.dcs["a0"]], program, data=data))["detail"]
    assert sci("GET", "/results", 200, params={"program": program})["total"] == 0


def test_nan_and_non_json_are_refused(flavour: Flavour, sci: Caller) -> None:
    raw = '{"kind": "mx.autoproc", "program": {"name": "n"}, "dataCollectionIds": [%d], "data": {"x": NaN}}'
    headers = {"Content-Type": "application/json"}
    sci("POST", "/results", 422, content=raw % flavour.data.dcs["a0"], headers=headers)
    sci("POST", "/results", 422, content="{nope", headers=headers)


def test_scientist_b_never_sees_a_documents(flavour: Flavour, sci: Caller) -> None:
    d, other = flavour.data, Caller(flavour, "sci_b")
    made = sci("POST", "/results", 201, json=result([d.dcs["a0"]], f"private-{uid()}"))
    line = json.dumps({"kind": "mx.image", "dataCollectionId": d.dcs["a0"], "values": {"imageNumber": 1}})
    sci("POST", "/metrics/bulk", 200, content=line)
    for path in (f"/results/{made['resultId']}", f"/results/{made['resultId']}/versions",
                 f"/datacollections/{d.dcs['a0']}?include=results,metrics", f"/sessions/{d.sessions['a']}/summary",
                 f"/metrics?proposal={d.proposals['a']}", f"/results?proposal={d.proposals['a']}"):  # fmt: skip
        other("GET", path, 404)
    for path in ("/results", "/metrics"):
        for params in ({}, {"dataCollectionId": d.dcs["a0"]}, {"sessionId": d.sessions["a"]}, {"limit": 10000}):
            seen = other("GET", path, 200, params=params)["results"]
            assert all(doc["proposalId"] != made["proposalId"] for doc in seen), (path, params)
    assert Caller(flavour, "admin")("GET", f"/results/{made['resultId']}", 200)["resultId"] == made["resultId"]


def test_unified_collection_and_session_summary(flavour: Flavour, sci: Caller) -> None:
    d = flavour.data
    dc = three_collections(flavour, member=True)[0]
    program = f"dials-{uid()}"
    sci("POST", "/results", 201, json=result([dc], program, status="success"))
    lines = [
        json.dumps(
            {"kind": "em.motioncorrection", "dataCollectionId": dc, "values": {"imageNumber": i, "totalMotion": v}}
        )
        for i, v in enumerate([10.0, 20.0, 30.0], 1)
    ]
    sci("POST", "/metrics/bulk", 200, content="\n".join(lines))
    unified = sci("GET", f"/datacollections/{dc}?include=results,metrics", 200)
    assert unified["documents"]["available"] is True and unified["autoProcessing"] == []
    assert [r["program"]["name"] for r in unified["documents"]["results"]] == [program]
    motion = unified["documents"]["metrics"][0]
    assert motion["kind"] == "em.motioncorrection" and motion["count"] == 3
    assert motion["fields"]["totalMotion"] == {"count": 3, "mean": 20.0, "median": 20.0}
    with_sql = sci("GET", f"/datacollections/{d.dcs['a0']}?include=results", 200)
    assert with_sql["autoProcessing"][0]["processingPrograms"] == "xia2 dials"
    assert with_sql["documents"]["metrics"] is None and with_sql["documents"]["results"] is not None
    assert sci("GET", f"/datacollections/{dc}", 200)["documents"] is None
    sessions = sci("GET", f"/datacollections/{dc}", 200)["BLSession"]["sessionId"]
    summary = sci("GET", f"/sessions/{sessions}/summary", 200)
    row = next(r for r in summary["dataCollections"] if r["dataCollectionId"] == dc)
    assert row["results"] == {"mx.autoproc": {program: "success"}} and row["metrics"] == {"em.motioncorrection": 3}
    a_row = next(r for r in sci("GET", f"/sessions/{d.sessions['a']}/summary", 200)["dataCollections"]
                 if r["dataCollectionId"] == d.dcs["a0"])  # fmt: skip
    assert a_row["autoProcPrograms"] == 1 and a_row["bestResolution"] is not None


def test_degraded_mode_and_recovery(flavour: Flavour, oidc_key) -> None:  # type: ignore[no-untyped-def]
    server = DocumentServer(":memory:").start()
    port = server.port
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400)
    d = flavour.data
    try:
        with TestClient(create_app(settings)) as client:
            auth = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": f"sci_a_{flavour.name}"}).json()
            headers = {"Authorization": f"Bearer {auth['token']}"}
            assert client.post(f"{API}/results", json=result([d.dcs["a0"]], "up"), headers=headers).status_code == 201
            server.stop()
            down = client.get(f"{API}/results", headers=headers)
            assert down.status_code == 503 and down.headers["Retry-After"] and down.json()["status"] == 503
            assert client.post(f"{API}/results", json=result([d.dcs["a0"]], "x"), headers=headers).status_code == 503
            unified = client.get(f"{API}/datacollections/{d.dcs['a0']}?include=results,metrics", headers=headers)
            assert unified.status_code == 200 and unified.json()["documents"] == {
                "available": False,
                "results": None,
                "metrics": None,
            }
            assert unified.json()["autoProcessing"]
            assert client.get(f"{API}/sessions/{d.sessions['a']}", headers=headers).status_code == 200
            server = DocumentServer(":memory:", port=port).start()
            for _ in range(40):  # the driver finds the server again by itself, within its next checks
                back = client.post(f"{API}/results", json=result([d.dcs["a0"]], "back"), headers=headers)
                if back.status_code != 503:
                    break
                time.sleep(0.25)
            assert back.status_code == 201, back.text
            assert client.get(f"{API}/results", headers=headers).json()["total"] == 1
    finally:
        server.stop()


def test_results_are_read_without_their_index(flavour: Flavour, sci: Caller) -> None:
    """The reads that name the results-by-collection index as a hint fall back to a scan when the store lacks it
    (not created yet, dropped): the same answers, no error."""
    dc = three_collections(flavour, member=True)[0]
    made = sci("POST", "/results", 201, json=result([dc], f"xia2-{uid()}"))
    db = flavour.state.documents.db
    portal = flavour.client.portal
    assert portal is not None

    async def reads() -> list[Any]:
        by_one = await results.latest(db, dc, results.Latest(), "")  # nothing kept: read from the store
        return [by_one, await results.latest_for_collections(db, [dc]), await batched.latest_results(db, {}, [dc])]

    indexed = portal.call(reads)
    assert [r["resultId"] for r in indexed[0]] == [made["resultId"]]
    portal.call(db.results.drop_index, RESULTS_BY_COLLECTION)
    try:
        assert portal.call(reads) == indexed
        unified = sci("GET", f"/datacollections/{dc}", 200, params={"include": "results"})
        assert [r["resultId"] for r in unified["documents"]["results"]] == [made["resultId"]]
    finally:
        assert portal.call(flavour.state.documents.ensure_indexes)


def test_a_worker_keeps_a_collection_s_latest_results_until_its_session_s_result_version_changes(
    flavour: Flavour, sci: Caller
) -> None:
    """The unified read serves a collection's latest results from what the worker kept while the session's result
    version holds (a document removed behind the service's back still shows), reads them again once a result is
    stored or the store is emptied, and hands out copies (a changed answer leaves what is kept alone)."""
    dc = three_collections(flavour, member=True)[0]
    first = sci("POST", "/results", 201, json=result([dc], f"xia2-{uid()}", status="running"))

    def shown() -> list[str]:
        found = sci("GET", f"/datacollections/{dc}", 200, params={"include": "results"})["documents"]["results"]
        return [r["resultId"] for r in found]

    assert shown() == [first["resultId"]]
    db, portal = flavour.state.documents.db, flavour.client.portal
    assert portal is not None
    portal.call(db.results.delete_one, {"_id": results.object_id(first["resultId"])})  # no new version
    assert shown() == [first["resultId"]]
    second = sci("POST", "/results", 201, json=result([dc], f"dials-{uid()}"))
    assert shown() == [second["resultId"]]

    async def answer_changed() -> None:
        kept = flavour.state.kept.results
        versions = await flavour.state.kept.versions.current(db, first["sessionIds"][0])
        (answer,) = await results.latest(db, dc, kept, versions["results"])
        status, answer["status"] = answer["status"], "changed"
        assert (await results.latest(db, dc, kept, versions["results"]))[0]["status"] == status

    async def emptied() -> None:  # the store emptied or restored empty: the versions start again from nothing
        for name in await db.list_collection_names():
            await db[name].delete_many({})

    portal.call(answer_changed)
    portal.call(emptied)
    assert shown() == []
    third = sci("POST", "/results", 201, json=result([dc], f"xds-{uid()}"))
    assert shown() == [third["resultId"]]


def test_a_collection_moved_to_another_session_is_read_under_that_session_s_versions(
    flavour: Flavour, sci: Caller
) -> None:
    """The unified read starts reading the versions of the session the worker last saw a collection in, and reads
    its new session's once the collection turns out to have moved: a result stored since (the new session's
    version bumped, the old one's not) shows at once."""
    dc = three_collections(flavour, member=True)[0]
    first = sci("POST", "/results", 201, json=result([dc], f"xia2-{uid()}"))

    def shown() -> list[str]:
        found = sci("GET", f"/datacollections/{dc}", 200, params={"include": "results"})["documents"]["results"]
        return [r["resultId"] for r in found]

    assert shown() == [first["resultId"]]  # kept under the first session's result version
    other_group = flavour.run(add_session_with_group, flavour.data.persons["sci_a"], uid()[:6], local_now(), True)

    async def move(db: Any) -> None:
        collection = await db.get(DataCollection, dc)
        collection.dataCollectionGroupId = other_group
        await db.flush()

    flavour.run(move)
    second = sci("POST", "/results", 201, json=result([dc], f"dials-{uid()}"))
    assert second["sessionIds"] != first["sessionIds"]
    assert sorted(shown()) == sorted([first["resultId"], second["resultId"]])  # the stale guess kept [first]
