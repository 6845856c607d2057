"""GraphQL's document side on both flavours: results, metric summaries, histograms, time series and the logbook
equal REST's answers for the same objects; who sees what (null with an error at its path, never data); one round
trip per loader per level and SQL statements that do not grow with the objects; a document store that is down
turns document fields into null with errors while SQL fields answer."""

import json
import math
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import strawberry
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.cli.embedded import DocumentServer
from app.deps import Identity, document_scope, scope_for
from app.graphql.context import Context
from app.graphql.document_edges import collection_best_result, session_logbook
from app.graphql.documents.best import BestResult
from app.graphql.documents.logbook import LogbookConnection
from app.main import create_app
from documents import batched
from documents import scope as doc_scope
from relational.people import standing
from schemas.times import local_now
from tests.conftest import Flavour, make_settings
from tests.factories import add_collection, add_session_with_group
from tests.test_results import result
from tests.test_shipping import Caller, uid

API = "/ispyb/api/v1"
RESULT_FIELDS = """resultId kind version latest status series proposalId sessionIds dataCollectionIds automatic runId
    program { name version } data parameters createdAt updatedAt createdBy { personId login }
    sweeps { dataCollectionId imageStart imageEnd } attachments { path type }"""


def gql(f: Flavour, role: str, query: str, **variables: Any) -> dict[str, Any]:
    r = f.client.post(f"{API}/graphql", json={"query": query, "variables": variables}, headers=f.token(role))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def errors_at(answer: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    return {tuple(e.get("path") or ()): e["message"] for e in answer.get("errors", [])}


def same_result(graph: dict[str, Any], rest: dict[str, Any]) -> None:
    """A GraphQL result holds REST's values (times compared as instants)."""
    for key, value in graph.items():
        if key in ("createdAt", "updatedAt"):
            assert datetime.fromisoformat(value) == datetime.fromisoformat(rest[key].replace("Z", "+00:00")), key
        elif key == "status":
            assert value == rest[key].upper() or value == rest[key], key
        else:
            assert value == rest[key], key


def ctf(dc: int, values: list[float]) -> list[str]:
    return [
        json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": {"imageNumber": i, "estimatedResolution": v}})
        for i, v in enumerate(values)
    ]


@pytest.fixture
def docs(flavour: Flavour) -> dict[str, Any]:
    """sci_a's documents on collection a0 (two versions of one series, another program, CTF metrics on a0 and a1),
    sci_b's result on b0, and a logbook note in each session."""
    d, sci, scib = flavour.data, Caller(flavour, "sci_a"), Caller(flavour, "sci_b")
    a0, a1 = d.dcs["a0"], d.dcs["a1"]
    first = sci("POST", "/results", 201, json=result([a0], "xia2", data={"resolution": 2.1}))
    second = sci("POST", "/results", 201, json=result([a0], "xia2", status="success", data={"resolution": 1.9}))
    other = sci("POST", "/results", 201, json=result([a0, a1], "autoPROC", parameters={"anomalous": True}))
    theirs = scib("POST", "/results", 201, json=result([d.dcs["b0"]], "xia2"))
    values = {a0: [2.5, 3.1, 4.75, 2.0, 8.25], a1: [5.5, 6.0]}
    lines = ctf(a0, values[a0]) + ctf(a1, values[a1])
    assert sci("POST", "/metrics/bulk", 200, content="\n".join(lines))["accepted"] == 7
    note = sci("POST", "/logbook", 201, json={"sessionId": d.sessions["a"], "text": "beam back"})
    note_b = scib("POST", "/logbook", 201, json={"sessionId": d.sessions["b"], "text": "theirs"})
    return {
        "results": [first, second, other],
        "theirs": theirs,
        "values": values,
        "note": note,
        "note_b": note_b,
    }


def test_collection_documents_equal_rest(flavour: Flavour, docs: dict[str, Any]) -> None:
    a0 = flavour.data.dcs["a0"]
    query = f"""query($dc: Int!) {{ dataCollection(dataCollectionId: $dc) {{
        results {{ {RESULT_FIELDS} versions {{ resultId version latest }} }}
        metrics {{ summaries emCtf {{ count estimatedResolution {{ count mean median }} defocusU {{ count }} }}
                   mxImage {{ count }} }} }} }}"""
    answer = gql(flavour, "sci_a", query, dc=a0)
    assert "errors" not in answer, answer
    graph = answer["data"]["dataCollection"]
    rest = Caller(flavour, "sci_a")("GET", f"/datacollections/{a0}?include=results,metrics", 200)["documents"]
    assert [r["resultId"] for r in graph["results"]] == [r["resultId"] for r in rest["results"]]
    assert {r["resultId"] for r in graph["results"]} == {docs["results"][1]["resultId"], docs["results"][2]["resultId"]}
    for g, r in zip(graph["results"], rest["results"], strict=True):
        same_result({k: v for k, v in g.items() if k != "versions"}, r)
        versions = Caller(flavour, "sci_a")("GET", f"/results/{r['resultId']}/versions", 200)
        assert g["versions"] == [
            {"resultId": v["resultId"], "version": v["version"], "latest": v["latest"]} for v in versions
        ]
    xia2 = next(g for g in graph["results"] if g["program"]["name"] == "xia2")
    assert [v["version"] for v in xia2["versions"]] == [1, 2] and xia2["data"] == {"resolution": 1.9}
    metrics = graph["metrics"]
    assert metrics["summaries"] == rest["metrics"]
    values = docs["values"][a0]
    typed = metrics["emCtf"]
    assert typed["count"] == len(values) and typed["defocusU"] is None and metrics["mxImage"] is None
    res = typed["estimatedResolution"]
    assert res["count"] == len(values) and res["median"] == statistics.median(values)
    assert math.isclose(res["mean"], sum(values) / len(values))


def test_session_metrics_equal_rest(flavour: Flavour, docs: dict[str, Any]) -> None:
    session = flavour.data.sessions["a"]
    query = """query($s: Int!) { session(sessionId: $s) { metrics {
        emCtf { estimatedResolution { count mean min max p10 p50 p90 } defocusU { count mean } }
        any: kind(kind: "em.ctf") unknown: kind(kind: "no.such.kind") bad: kind(kind: "$where") } } }"""
    answer = gql(flavour, "sci_a", query, s=session)
    metrics = answer["data"]["session"]["metrics"]
    rest = Caller(flavour, "sci_a")(
        "GET", "/stats/metrics/summary", 200, params={"sessionId": session, "kind": "em.ctf"}
    )
    assert metrics["any"] == rest
    assert metrics["emCtf"]["estimatedResolution"] == rest["fields"]["estimatedResolution"]
    values = sorted(v for vs in docs["values"].values() for v in vs)
    res = metrics["emCtf"]["estimatedResolution"]
    assert (res["count"], res["min"], res["max"]) == (len(values), values[0], values[-1])
    assert math.isclose(res["mean"], sum(values) / len(values))
    assert metrics["emCtf"]["defocusU"] == {"count": 0, "mean": None}
    assert metrics["unknown"] is None
    assert "no.such.kind" in errors_at(answer)[("session", "metrics", "unknown")]
    assert (
        metrics["bad"] is None
        and "`kind`: String should match pattern" in errors_at(answer)[("session", "metrics", "bad")]
    )


def test_root_fields_equal_rest(flavour: Flavour, docs: dict[str, Any]) -> None:
    d, sci = flavour.data, Caller(flavour, "sci_a")
    session = d.sessions["a"]
    page = """query($s: Int, $after: String) { results(sessionId: $s, first: 2, after: $after) {
        totalCount edges { cursor node { resultId version } } pageInfo { hasNextPage endCursor } } }"""
    first = gql(flavour, "sci_a", page, s=session)["data"]["results"]
    rest = sci("GET", "/results", 200, params={"sessionId": session})
    assert first["totalCount"] == rest["total"] == 2 and first["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["resultId"] for e in first["edges"]] == [r["resultId"] for r in rest["results"]]
    every = gql(flavour, "sci_a", "{ results(allVersions: true, first: 1) { totalCount pageInfo { endCursor } } }")
    assert every["data"]["results"]["totalCount"] == 3
    cursor = every["data"]["results"]["pageInfo"]["endCursor"]
    rest_all = sci("GET", "/results", 200, params={"allVersions": True})["results"]
    nxt = gql(flavour, "sci_a", "query($c: String) { results(allVersions: true, first: 5, after: $c) { edges "
              "{ node { resultId } } } }", c=cursor)["data"]["results"]  # fmt: skip
    assert [e["node"]["resultId"] for e in nxt["edges"]] == [r["resultId"] for r in rest_all[1:]]
    one = gql(flavour, "sci_a", f"query($id: ID!) {{ result(resultId: $id) {{ {RESULT_FIELDS} }} }}",
              id=docs["results"][0]["resultId"])["data"]["result"]  # fmt: skip
    same_result(one, sci("GET", f"/results/{docs['results'][0]['resultId']}", 200))

    where = {"sessionId": session, "kind": "em.ctf", "field": "estimatedResolution"}
    hist = gql(
        flavour,
        "sci_a",
        """query($s: Int) { metricHistogram(kind: "em.ctf", field: "estimatedResolution",
        sessionId: $s, binWidth: 0.5) { kind field origin binWidth count bins { start end count } } }""",
        s=session,
    )
    assert hist["data"]["metricHistogram"] == sci(
        "GET", "/stats/metrics/histogram", 200, params=where | {"binWidth": 0.5}
    )
    assert hist["data"]["metricHistogram"]["count"] == 7
    series = gql(
        flavour,
        "sci_a",
        """query($s: Int) { metricTimeSeries(kind: "em.ctf", field: "estimatedResolution",
        sessionId: $s, interval: day) { interval buckets { time count mean min max p50 p90 } } }""",
        s=session,
    )
    rest_series = sci("GET", "/stats/metrics/timeseries", 200, params=where | {"interval": "day"})
    buckets = series["data"]["metricTimeSeries"]["buckets"]
    assert [b["count"] for b in buckets] == [b["count"] for b in rest_series["buckets"]] == [7]
    for g, r in zip(buckets, rest_series["buckets"], strict=True):
        assert datetime.fromisoformat(g["time"]) == datetime.fromisoformat(r["time"].replace("Z", "+00:00"))
        assert {k: v for k, v in g.items() if k != "time"} == {k: v for k, v in r.items() if k != "time"}


def test_logbook_equals_rest(flavour: Flavour, docs: dict[str, Any]) -> None:
    sci = Caller(flavour, "sci_a")
    for i in range(4):
        sci("POST", "/logbook", 201, json={"sessionId": flavour.data.sessions["a"], "text": f"note {i}"})
    entry = docs["note"]["entryId"]
    sci("PATCH", f"/logbook/{entry}", 200, json={"text": "beam back, corrected"})
    one = gql(
        flavour,
        "sci_a",
        """query($id: ID!) { logbookEntry(entryId: $id) { entryId version text kind
        sessionId author { personId login } versions { version text latest } } }""",
        id=entry,
    )["data"]["logbookEntry"]
    rest = sci("GET", f"/logbook/{entry}", 200)
    assert {k: one[k] for k in ("entryId", "version", "text", "kind", "sessionId")} == {
        k: rest[k] for k in ("entryId", "version", "text", "kind", "sessionId")
    }
    assert one["versions"] == [
        {"version": v["version"], "text": v["text"], "latest": v["latest"]} for v in rest["versions"]
    ]
    assert [v["text"] for v in one["versions"]] == ["beam back", "beam back, corrected"]
    pages = []
    after = None
    session = flavour.data.sessions["a"]
    while True:
        page = logbook_page(flavour, "sci_a", session, 2, after)
        pages.append([e["text"] for e in page["nodes"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    rest_all = sci("GET", "/logbook", 200, params={"sessionId": session, "limit": 100})["results"]
    assert [t for p in pages for t in p] == [e["text"] for e in rest_all]
    assert [len(p) for p in pages] == [2, 2, 1]
    wired = gql(
        flavour,
        "sci_a",
        """query($s: Int!) { session(sessionId: $s) { logbook(first: 2) {
        nodes { text } pageInfo { hasNextPage } } } }""",
        s=session,
    )["data"]["session"]["logbook"]
    assert [e["text"] for e in wired["nodes"]] == pages[0] and wired["pageInfo"]["hasNextPage"]
    assert logbook_page(flavour, "sci_b", session, 25, None)["nodes"] == []  # the read keeps to the scope
    refused = local(flavour, "sci_a", LOGBOOK, s=session, first=2, after="not-a-cursor")
    assert refused["data"] is None and "`cursor` is not a cursor this service gave" in refused["errors"][0]


@strawberry.type
class Edges:
    """A schema of edges alone, called with ids (the relational types' fields call them on their objects)."""

    @strawberry.field
    async def sessionLogbook(
        self, info: strawberry.Info, sessionId: int, first: int, after: str | None
    ) -> LogbookConnection:
        return await session_logbook(info, sessionId, first, after)

    @strawberry.field
    async def bestResult(self, info: strawberry.Info, dataCollectionId: int) -> BestResult | None:
        return await collection_best_result(info, dataCollectionId)


LOGBOOK = """query($s: Int!, $first: Int!, $after: String) { sessionLogbook(sessionId: $s, first: $first,
    after: $after) { nodes { entryId text } pageInfo { hasNextPage endCursor } } }"""


def local(f: Flavour, role: str, query: str, **variables: Any) -> dict[str, Any]:
    """``query`` on the schema of edges alone, in an app session as ``role``."""

    async def run(db: Any) -> dict[str, Any]:
        person = f.data.persons[role]
        found = await standing(db, person)
        assert found is not None and found.login is not None
        scope = scope_for(f.state.settings, person, found.permissions)
        identity = Identity(login=found.login, personId=person, permissions=found.permissions, scope=scope)
        context = Context(identity, db, f.state.documents, f.state)
        answer = await strawberry.Schema(Edges).execute(query, variables, context_value=context)
        return {"data": answer.data, "errors": [e.message for e in answer.errors or []]}

    return f.run(run)


def logbook_page(f: Flavour, role: str, session: int, first: int, after: str | None) -> dict[str, Any]:
    answer = local(f, role, LOGBOOK, s=session, first=first, after=after)
    assert not answer["errors"], answer
    page: dict[str, Any] = answer["data"]["sessionLogbook"]
    return page


def test_best_result_equals_rest(flavour: Flavour, docs: dict[str, Any]) -> None:
    """The SQL auto-processing of a0 against a document result with a higher symmetry and a good R-merge."""
    a0, sci = flavour.data.dcs["a0"], Caller(flavour, "sci_a")
    data = {"spaceGroup": "P212121", "innerShell": {"rMerge": 0.04}, "overall": {"resolutionLimitHigh": 1.7}}
    mine = sci("POST", "/results", 201, json=result([a0], "fast_dp", data=data) | {"kind": "mx.autoproc"})
    query = """query($dc: Int!) { bestResult(dataCollectionId: $dc) { dataCollectionId reason
        best { source id program spaceGroup spaceGroupNumber innerShellRMerge resolution }
        candidates { source id program spaceGroup spaceGroupNumber innerShellRMerge resolution } } }"""
    answer = local(flavour, "sci_a", query, dc=a0)
    assert not answer["errors"], answer
    rest = sci("GET", f"/datacollections/{a0}/best-result", 200)
    assert answer["data"]["bestResult"] == rest
    through = query.replace("bestResult(dataCollectionId: $dc)", "dataCollection(dataCollectionId: $dc) { bestResult")
    wired = gql(flavour, "sci_a", through.replace("} } }", "} } } }"), dc=a0)
    assert wired["data"]["dataCollection"]["bestResult"] == rest
    assert rest["best"]["id"] == mine["resultId"] and rest["best"]["spaceGroupNumber"] == 19
    assert {c["source"] for c in rest["candidates"]} == {"sql", "document"}


ROLES_SEEING_A = {"sci_a": True, "staff": True, "admin": True, "sci_b": False, "nobody": False}


@pytest.mark.parametrize(("role", "sees"), ROLES_SEEING_A.items())
def test_who_sees_what(flavour: Flavour, docs: dict[str, Any], role: str, sees: bool) -> None:
    d = flavour.data
    rid, entry = docs["results"][0]["resultId"], docs["note"]["entryId"]
    answer = gql(
        flavour,
        role,
        """query($id: ID!, $e: ID!, $s: Int!, $dc: Int!, $p: String) {
        result(resultId: $id) { resultId }
        logbookEntry(entryId: $e) { entryId }
        bySession: results(sessionId: $s) { totalCount }
        byProposal: results(proposal: $p) { totalCount }
        everything: results(allVersions: true, first: 100) { edges { node { resultId proposalId } } }
        dataCollection(dataCollectionId: $dc) { results { resultId } metrics { summaries } }
        session(sessionId: $s) { metrics { emCtf { estimatedResolution { count } } } }
        metricHistogram(kind: "em.ctf", field: "estimatedResolution", sessionId: $s) { count }
    }""",
        id=rid,
        e=entry,
        s=d.sessions["a"],
        dc=d.dcs["a0"],
        p=d.proposals["a"],
    )
    data, errors = answer["data"], errors_at(answer)
    a_results = {r["resultId"] for r in docs["results"]}
    seen = {e["node"]["resultId"] for e in data["everything"]["edges"]}
    if sees:
        assert data["result"] == {"resultId": rid} and data["logbookEntry"] == {"entryId": entry}
        assert data["bySession"]["totalCount"] == 2 and data["byProposal"]["totalCount"] == 2
        assert a_results <= seen and len(data["dataCollection"]["results"]) == 2
        assert data["session"]["metrics"]["emCtf"]["estimatedResolution"]["count"] == 7
        assert data["metricHistogram"]["count"] == 7
        assert (docs["theirs"]["resultId"] in seen) == (role == "admin")
        return
    assert data["result"] is None and "not found" in errors[("result",)]
    assert data["logbookEntry"] is None and "not found" in errors[("logbookEntry",)]
    assert data["bySession"]["totalCount"] == 0
    assert data["byProposal"] is None and "not found" in errors[("byProposal",)]
    assert not a_results & seen and data["dataCollection"] is None and data["session"] is None
    assert data["metricHistogram"] is None and "not found" in errors[("metricHistogram",)]
    assert (docs["theirs"]["resultId"] in seen) == (role == "sci_b")


def test_batched_reads_keep_to_the_scope(flavour: Flavour, docs: dict[str, Any]) -> None:
    """Each batched read, asked by sci_b for sci_a's objects by id, finds nothing (the scope is applied in the read,
    not only by the parent that names the ids); asked by sci_a, it finds them."""
    d = flavour.data
    a0, series = d.dcs["a0"], docs["results"][0]["series"]
    state = flavour.state

    async def reads(db: Any, role: str) -> list[bool]:
        person = d.persons[role]
        found = await standing(db, person)
        assert found is not None
        scope = scope_for(state.settings, person, found.permissions)
        seen = await document_scope(db, scope)
        store = state.documents.db
        logbook = doc_scope.logbook(seen, scope.beamlines)
        return [
            bool((await batched.latest_results(store, seen, [a0]))[a0]),
            bool((await batched.versions(store, seen, [series]))[series]),
            bool((await batched.metric_summaries(store, seen, [a0]))[a0]),
            bool(await batched.session_rollups(store, seen, [d.sessions["a"]], ["em.ctf"])),
            bool((await batched.logbook_versions(store, logbook, [docs["note"]["entryId"]]))[docs["note"]["entryId"]]),
        ]

    assert flavour.run(reads, "sci_a") == [True] * 5
    assert flavour.run(reads, "sci_b") == [False] * 5


@pytest.fixture
def counted(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Calls of each batched document read, and SQL statements (key ``sql``), while the test runs."""
    calls: Counter[str] = Counter()
    for name in ("latest_results", "versions", "metric_summaries", "session_rollups"):
        real = getattr(batched, name)

        async def wrapped(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
            calls[_name] += 1
            return await _real(*args, **kw)

        monkeypatch.setattr(batched, name, wrapped)
    engine = flavour.state.database.engine.sync_engine

    def statement(*_: Any) -> None:
        calls["sql"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    yield calls
    event.remove(engine, "before_cursor_execute", statement)


SESSION_PAGE = """query($s: Int!) { session(sessionId: $s) { sessionId
    metrics { emCtf { estimatedResolution { mean p50 } } }
    dataCollections(first: 50) { edges { node { dataCollectionId
        results { resultId versions { version } } metrics { summaries emCtf { count } } } } } } }"""


def test_one_round_trip_per_level(flavour: Flavour, counted: Counter[str]) -> None:
    """A session page over 3 and then 9 collections with documents: each batched read runs once per level, and
    the SQL statements are as many for both."""
    sci = Caller(flavour, "sci_a")
    figures = []
    for n in (3, 9):
        end = local_now() - timedelta(days=2)
        group = flavour.run(add_session_with_group, flavour.data.persons["sci_a"], uid()[:6], end, True)
        dcs = [flavour.run(add_collection, group)[1] for _ in range(n)]
        session = sci("GET", f"/datacollections/{dcs[0]}", 200)["BLSession"]["sessionId"]
        for dc in dcs:
            sci("POST", "/results", 201, json=result([dc], f"p{uid()}"))
            sci("POST", "/metrics/bulk", 200, content="\n".join(ctf(dc, [3.0, 4.0])))
        counted.clear()
        answer = gql(flavour, "sci_a", SESSION_PAGE, s=session)
        assert "errors" not in answer, answer
        nodes = answer["data"]["session"]["dataCollections"]["edges"]
        assert len(nodes) == len(dcs) and all(len(e["node"]["results"]) == 1 for e in nodes)
        figures.append(dict(counted))
    for calls in figures:
        assert {k: v for k, v in calls.items() if k != "sql"} == {
            "latest_results": 1,
            "versions": 1,
            "metric_summaries": 1,
            "session_rollups": 1,
        }
    assert figures[0]["sql"] == figures[1]["sql"]


def test_degraded_mode(flavour: Flavour, oidc_key: Any) -> None:
    """The document store down: document fields are null with an error at their path, SQL fields answer."""
    server = DocumentServer(":memory:").start()
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400)
    d = flavour.data
    try:
        with TestClient(create_app(settings)) as client:
            login = {"plugin": "dummy", "login": f"sci_a_{flavour.name}"}
            headers = {"Authorization": f"Bearer {client.post(f'{API}/auth/login', json=login).json()['token']}"}
            made = client.post(f"{API}/results", json=result([d.dcs["a0"]], "up"), headers=headers)
            assert made.status_code == 201
            server.stop()
            query = """query($dc: Int!, $s: Int!, $id: ID!) {
                dataCollection(dataCollectionId: $dc) { dataCollectionId results { resultId } metrics { summaries } }
                session(sessionId: $s) { sessionId metrics { emCtf { estimatedResolution { count } } } }
                result(resultId: $id) { resultId }
                results { totalCount }
                sessionStatistics(sessionId: $s) { sessionId } }"""
            variables = {"dc": d.dcs["a0"], "s": d.sessions["a"], "id": made.json()["resultId"]}
            started = time.monotonic()
            r = client.post(f"{API}/graphql", json={"query": query, "variables": variables}, headers=headers)
            assert time.monotonic() - started < 10
            assert r.status_code == 200, r.text
            answer = r.json()
            data, errors = answer["data"], errors_at(answer)
            assert data["dataCollection"] == {
                "dataCollectionId": d.dcs["a0"],
                "results": None,
                "metrics": {"summaries": None},
            }
            assert data["session"] == {"sessionId": d.sessions["a"], "metrics": {"emCtf": None}}
            assert data["result"] is None and data["results"] is None and data["sessionStatistics"] is None
            down = {
                ("sessionStatistics",),
                ("dataCollection", "results"),
                ("dataCollection", "metrics", "summaries"),
                ("session", "metrics", "emCtf"),
                ("result",),
                ("results",),
            }
            assert set(errors) == down
            assert all("document store" in message.lower() for message in errors.values()), errors
    finally:
        server.stop()


HOSTILE = [
    ('results(kind: "$where") { totalCount }', "`kind`"),
    ('results(kind: "em.ctf.") { totalCount }', "`kind`"),
    ("results(dataCollectionId: 0) { totalCount }", "`dataCollectionId`"),
    ("results(sessionId: -5) { totalCount }", "`sessionId`"),
    ('results(proposal: "../etc") { totalCount }', "`proposal`"),
    ("results(first: 0) { totalCount }", "`first`"),
    ("results(first: 10001) { totalCount }", "`first`"),
    ('results(after: "bm90IGEgY3Vyc29y") { totalCount }', "`after`"),
    ('result(resultId: "{\\"$gt\\": \\"\\"}") { resultId }', "`resultId`"),
    ('logbookEntry(entryId: "ünïcødé") { entryId }', "`entryId`"),
    ('metricHistogram(kind: "em.ctf", field: "estimatedResolution", bins: 0) { count }', "`bins`"),
    ('metricHistogram(kind: "em.ctf", field: "estimatedResolution", bins: 1001) { count }', "`bins`"),
    ('metricHistogram(kind: "em.ctf", field: "estimatedResolution", binWidth: -1) { count }', "`binWidth`"),
    ('metricHistogram(kind: "em.ctf", field: "estimatedResolution", binWidth: 1e300) { count }', "`binWidth`"),
    ('metricHistogram(kind: "em.ctf", field: "values.x") { count }', "`field`"),
    ('metricHistogram(kind: "em.ctf", field: "nope") { count }', "no field `nope`"),
    ('metricHistogram(kind: "no.such", field: "x") { count }', "Unknown kind"),
    ('metricTimeSeries(kind: "em.ctf", field: "estimatedResolution", from: "2024-01-02T00:00:00", '
     'to: "2024-01-01T00:00:00") { interval }', "`to` must come after `from`"),
    ('metricTimeSeries(kind: "em.ctf", field: "estimatedResolution", interval: minute) { interval }', "Minute series"),
    (f'metricTimeSeries(kind: "em.ctf", field: "estimatedResolution", beamLineName: "{"b" * 46}") {{ interval }}',
     "`beamLineName`"),
]  # fmt: skip


@pytest.mark.parametrize(("selection", "named"), HOSTILE, ids=[h[1] + str(i) for i, h in enumerate(HOSTILE)])
def test_hostile_arguments(flavour: Flavour, selection: str, named: str) -> None:
    """Each bad argument: the field is null with an error naming what is wrong (REST's 422), nothing else."""
    answer = gql(flavour, "sci_a", "{ " + selection + " }")
    field = selection.split("(")[0]
    assert answer["data"] == {field: None}, answer
    assert [tuple(e["path"]) for e in answer["errors"]] == [(field,)]
    assert named in answer["errors"][0]["message"], answer["errors"][0]["message"]


def test_long_variable(flavour: Flavour) -> None:
    """A 100 kB program name through a variable (the query's size limit does not see variables)."""
    answer = gql(flavour, "sci_a", "query($p: String) { results(program: $p) { totalCount } }", p="p" * 100_001)
    assert answer["data"] == {"results": None} and "`program`" in answer["errors"][0]["message"]
