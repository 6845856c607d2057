"""Review of issue 16 (GraphQL): each finding's test, on both flavours. Over the wire: the request body bounded and
checked before parsing, error messages cut, depth counted without Relay's wrappers, ``_entities`` weighed and
refused clearly, and the dashboard's session statistics served through GraphQL as REST serves them."""

import hashlib
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from graphql import get_introspection_query
from sqlalchemy import func, select

from app.graphql import context
from app.graphql.limits import MAX_INTROSPECTIONS
from app.graphql.router import MAX_BODY_BYTES, MAX_MESSAGE_CHARS
from tests.conftest import Flavour
from tests.test_graphql_limits import strict  # noqa: F401 (a fixture: an app with a 0.5 s graphql_timeout)
from tests.test_results import three_collections
from tests.test_shipping import Caller

API = "/ispyb/api/v1"
URL = f"{API}/graphql"


def raw(f: Flavour, body: bytes, content_type: str = "application/json", role: str = "sci_a") -> httpx.Response:
    r: httpx.Response = f.client.post(URL, content=body, headers={**f.token(role), "content-type": content_type})
    return r


def ask(f: Flavour, query: str, role: str = "sci_a", **variables: Any) -> dict[str, Any]:
    r = f.client.post(URL, json={"query": query, "variables": variables}, headers=f.token(role))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_a_body_over_the_bound_is_413_before_parsing(flavour: Flavour) -> None:
    """A 1 MB query is refused by its own limit; 1 MB of variables had no limit at all and were parsed."""
    padding = "x" * MAX_BODY_BYTES
    body = json.dumps({"query": "{ __typename }", "variables": {"a": padding}}).encode()
    r = raw(flavour, body)
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert f"at most {MAX_BODY_BYTES} bytes" in r.json()["detail"]
    streamed = flavour.client.post(URL, content=iter([body[:1000], body[1000:]]), headers=flavour.token("sci_a"))
    assert streamed.status_code == 413, streamed.text  # chunked: no Content-Length to trust
    broken = raw(flavour, b"[" * (MAX_BODY_BYTES + 1))  # not JSON, never parsed
    assert broken.status_code == 413, broken.text
    within = json.dumps({"query": "{ __typename }", "variables": {"a": "x" * (MAX_BODY_BYTES - 100)}}).encode()
    assert raw(flavour, within).json() == {"data": {"__typename": "Query"}}


def test_the_raw_json_checks_apply(flavour: Flavour) -> None:
    deep = raw(flavour, b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 200 + b"]" * 200 + b"}}")
    assert deep.status_code == 422 and "nests deeper than" in deep.json()["detail"], deep.text
    lone = raw(flavour, b'{"query": "{ __typename }", "variables": {"a": "\\ud800"}}')
    assert lone.status_code == 422 and "lone UTF-16 surrogate" in lone.json()["detail"], lone.text
    digits = raw(flavour, b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}")
    assert digits.status_code in (200, 422), digits.text  # never a 500 (Python refuses 4,300+ digit ints)
    for body, where in ((b"[1]", ["body"]), (b'{"query": 1}', ["body", "query"]), (b'{"query": "{', ["body"])):
        r = raw(flavour, body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][: len(where)] == where, (body, r.text)
    plain = raw(flavour, b'{"query": "{ __typename }"}', content_type="text/plain")
    assert plain.status_code == 422 and "application/json" in plain.json()["detail"], plain.text
    assert raw(flavour, b'{"query": "{ __typename }"}').json() == {"data": {"__typename": "Query"}}


def test_an_invalid_variable_is_not_repeated_in_full(flavour: Flavour) -> None:
    big = "x" * 100_000
    for query, value in (
        ('query($v: Interval!) { metricTimeSeries(kind: "em.ctf", field: "a", interval: $v) { kind } }', big),
        ('query($v: DateTime) { metricHistogram(kind: "em.ctf", field: "a", from: $v) { kind } }', big),
        ("query($v: Int!) { session(sessionId: $v) { sessionId } }", [big] * 5),
    ):
        answer = ask(flavour, query, v=value)
        [error] = answer["errors"]
        assert answer["data"] is None and error["message"].startswith("Variable '$v' has invalid value"), error
        assert len(error["message"]) <= MAX_MESSAGE_CHARS, (query, len(error["message"]))


#: a dashboard's four nested connections: proposal, sessions, groups, collections, integrations, their program
FOUR_CONNECTIONS = """query($p: String!) { proposal(proposal: $p) { proposal
  sessions(first: 5) { edges { node { sessionId
    dataCollectionGroups(first: 5) { edges { node { dataCollectionGroupId
      dataCollections(first: 5) { edges { node { dataCollectionId
        autoProcIntegrations(first: 5) { edges { node { AutoProcProgram { autoProcProgramId } } } }
} } } } } } } } } } }"""


def test_depth_counts_what_a_reader_calls_depth(flavour: Flavour) -> None:
    """Four nested connections are 6 levels (each connection one, its edges and node none): within the default 10,
    where counting edges and node made them 14 and refused them."""
    answer = ask(flavour, FOUR_CONNECTIONS, p=flavour.data.proposals["a"])
    assert "errors" not in answer, answer
    [session] = answer["data"]["proposal"]["sessions"]["edges"]
    assert session["node"]["sessionId"] == flavour.data.sessions["a"]
    cycle = "dataCollections(first: 1) { edges { node { BLSession { "  # a connection and an object: 2 levels
    for hops, refused in ((4, False), (5, True)):  # session + 2·hops: 9, then 11
        query = "query($s: Int!) { session(sessionId: $s) { " + cycle * hops + "sessionId" + " } } } }" * hops + " } }"
        deep = ask(flavour, query, s=flavour.data.sessions["a"])
        assert ("errors" in deep) is refused, deep
        if refused:
            assert deep["errors"][0]["extensions"]["code"] == "MAX_DEPTH"
            assert "11 levels deep" in deep["errors"][0]["message"]
    logbook = "{ session(sessionId: %d) { logbook { nodes { entryId } pageInfo { endCursor } } } }"
    assert "errors" not in ask(flavour, logbook % flavour.data.sessions["a"])  # nodes: a wrapper's too


STATISTICS = """query($s: Int!) { sessionStatistics(sessionId: $s) { sessionId techniques { technique datacollections
  images autoProcessed autoProcessedShare bestResolution motionCorrected ctfProcessed bestCtfResolution } } }"""


def test_session_statistics_are_rests(flavour: Flavour) -> None:
    """The dashboard's auto-processed and motion-corrected shares: GraphQL's sessionStatistics is REST's
    GET /stats/sessions/{id} (its function), null with "not found" out of reach."""
    sci = Caller(flavour, "sci_a")
    dcs = three_collections(flavour, member=True)
    session = sci("GET", f"/datacollections/{dcs[0]}", 200)["BLSession"]["sessionId"]
    for sessionId in (session, flavour.data.sessions["a"]):
        rest = sci("GET", f"/stats/sessions/{sessionId}", 200)
        got = ask(flavour, STATISTICS, s=sessionId)["data"]["sessionStatistics"]
        assert got["sessionId"] == sessionId
        assert {t.pop("technique"): t for t in got["techniques"]} == {
            name: {"motionCorrected": None, "ctfProcessed": None, "bestCtfResolution": None} | entry
            for name, entry in rest["techniques"].items()
        }
    [mx] = ask(flavour, STATISTICS, s=session)["data"]["sessionStatistics"]["techniques"]
    assert mx["datacollections"] == 3 and mx["autoProcessedShare"] == 0
    out = ask(flavour, STATISTICS, role="sci_b", s=session)
    assert out["data"] == {"sessionStatistics": None} and "not found" in out["errors"][0]["message"]
    assert "between 1 and" in ask(flavour, STATISTICS, s=0)["errors"][0]["message"]


ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sessionId } } }"


def test_hostile_representations_are_errors_at_their_index(flavour: Flavour, caplog: pytest.LogCaptureFixture) -> None:
    """strawberry's resolver raised on these (a fault: "Unexpected error.", logged, and for a non-object the whole
    list null), or built a non-entity type from the client's values; each is now an error naming what is wrong
    while the good representations beside it answer."""
    s = flavour.data.sessions["a"]
    hostile = {
        "x": "an object with its `__typename`",
        5: "an object with its `__typename`",
        "[]": "an object with its `__typename`",
        "no typename": "an object with its `__typename`",
        "typename list": "an object with its `__typename`",
        "unknown": "`Nothing` is not an entity",
        "long": "is not an entity",
        "not an entity": "`AutoProcIntegration` is not an entity",
        "root": "`Query` is not an entity",
        "scalar": "`Int` is not an entity",
        "extra key": "holds its key, sessionId, and no more",
        "other key": "holds its key, sessionId, and no more",
    }
    values: dict[Any, Any] = {
        "x": "x",
        5: 5,
        "[]": [],
        "no typename": {"sessionId": s},
        "typename list": {"__typename": ["Session"], "sessionId": s},
        "unknown": {"__typename": "Nothing", "sessionId": s},
        "long": {"__typename": "x" * 100_000, "sessionId": s},
        "not an entity": {"__typename": "AutoProcIntegration", "autoProcIntegrationId": 1, "dataCollectionId": 1},
        "root": {"__typename": "Query"},
        "scalar": {"__typename": "Int"},
        "extra key": {"__typename": "Session", "sessionId": s, "extra": 1},
        "other key": {"__typename": "Session", "proposalId": 1},
    }
    good = {"__typename": "Session", "sessionId": s}
    with caplog.at_level(logging.ERROR):
        answer = ask(flavour, ENTITIES, r=[good, *values.values(), good])
    assert answer["data"]["_entities"] == [{"sessionId": s}, *[None] * len(values), {"sessionId": s}], answer
    errors = {tuple(e["path"]): e["message"] for e in answer["errors"]}
    assert len(errors) == len(values)
    for index, name in enumerate(values, start=1):
        assert hostile[name] in errors["_entities", index], (name, errors["_entities", index])
        assert len(errors["_entities", index]) < 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []  # answers, not faults


def test_entities_are_weighed_per_representation(flavour: Flavour) -> None:
    """Each representation is an object, its connections multiplied by their page: _entities counted as one list of
    25 let 5,000 sessions ask for 100 collections each (500,000 objects under a limit of 50,000)."""
    s = flavour.data.sessions["a"]
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Session {
      dataCollections(first: 100) { edges { node { dataCollectionId } } } } } }"""
    over = ask(flavour, query, r=[{"__typename": "Session", "sessionId": s}] * 500)  # 500 + 500·100
    assert over["data"] is None and over["errors"][0]["extensions"]["code"] == "MAX_COST", over
    assert "may return 50500 objects" in over["errors"][0]["message"]
    within = ask(flavour, query, r=[{"__typename": "Session", "sessionId": s}] * 400)  # 40,400
    assert len(within["data"]["_entities"]) == 400 and "errors" not in within
    one = f'{{__typename: "Session", sessionId: {s}}}'
    sessions = "... on Session { dataCollections(first: 100) { totalCount } }"
    literal = f"{{ _entities(representations: [{', '.join([one] * 496)}]) {{ {sessions} }} }}"  # 496 + 49,600
    assert ask(flavour, literal)["errors"][0]["extensions"]["code"] == "MAX_COST"


def test_an_empty_query_is_a_422(flavour: Flavour) -> None:
    """strawberry raises MissingQueryError on an empty query, or a persisted one whose hash is the empty text's:
    it was a 500."""
    empty = raw(flavour, b'{"query": ""}')
    assert empty.status_code == 422 and empty.json()["detail"] == "`query` is empty", empty.text
    digest = hashlib.sha256(b"").hexdigest()
    persisted = json.dumps({"query": "", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}})
    again = raw(flavour, persisted.encode())
    assert again.status_code == 422 and again.json()["detail"] == "`query` is empty", again.text
    fragments = raw(flavour, b'{"query": "fragment A on Query { __typename }"}')
    assert fragments.status_code == 422 and fragments.json()["detail"] == "No operation in the query", fragments.text


def test_a_persisted_query_replayed_by_another_caller_answers_as_them(flavour: Flavour) -> None:
    """The APQ cache keeps the query's text only: sci_b replaying sci_a's hash gets sci_b's answer."""
    d = flavour.data
    query = f"query($s: Int!) {{ session(sessionId: $s) {{ sessionId }} }} # {uuid.uuid4()}"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}

    def send(role: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = flavour.client.post(URL, json=body, headers=flavour.token(role)).json()
        return answer

    mine = send("sci_a", {"query": query, "extensions": persisted, "variables": {"s": d.sessions["a"]}})
    assert mine["data"] == {"session": {"sessionId": d.sessions["a"]}}
    replayed = send("sci_b", {"extensions": persisted, "variables": {"s": d.sessions["a"]}})
    assert replayed["data"] == {"session": None} and "not found" in replayed["errors"][0]["message"]
    own = send("sci_b", {"extensions": persisted, "variables": {"s": d.sessions["b"]}})
    assert own["data"] == {"session": {"sessionId": d.sessions["b"]}}


def test_aliases_fragments_and_entities_do_not_widen_reach(flavour: Flavour) -> None:
    """The same fields asked twice under aliases, through one fragment, at the root, through _entities and from a
    collection up to its session: sci_b sees its own and nothing of proposal a."""
    d = flavour.data
    query = """query($a: Int!, $b: Int!, $dc: Int!, $r: [_Any!]!) {
      mine: session(sessionId: $b) { ...S } theirs: session(sessionId: $a) { ...S }
      up: dataCollection(dataCollectionId: $dc) { BLSession { ...S } }
      entities: _entities(representations: $r) { ...S ... on DataCollection { BLSession { ...S } } }
      statistics: sessionStatistics(sessionId: $a) { sessionId }
      results(sessionId: $a) { totalCount } }
    fragment S on Session { sessionId
      first: dataCollections(first: 1) { totalCount edges { node { dataCollectionId } } }
      all: dataCollections(first: 100) { totalCount } }"""
    representations = [
        {"__typename": "Session", "sessionId": d.sessions["a"]},
        {"__typename": "Session", "sessionId": d.sessions["b"]},
        {"__typename": "DataCollection", "dataCollectionId": d.dcs["a0"]},
    ]
    variables = {"a": d.sessions["a"], "b": d.sessions["b"], "dc": d.dcs["a0"], "r": representations}
    answer = ask(flavour, query, role="sci_b", **variables)["data"]
    own = ask(flavour, "query($b: Int!) { session(sessionId: $b) { dataCollections(first: 100) { totalCount } } }",
              role="sci_b", b=d.sessions["b"])["data"]["session"]["dataCollections"]["totalCount"]  # fmt: skip
    assert answer["mine"]["sessionId"] == d.sessions["b"] and answer["mine"]["all"]["totalCount"] == own
    assert [e["node"]["dataCollectionId"] for e in answer["mine"]["first"]["edges"]] == [d.dcs["b0"]]
    assert answer["theirs"] is None and answer["up"] is None and answer["statistics"] is None
    assert answer["entities"][0] is None and answer["entities"][1]["sessionId"] == d.sessions["b"]
    assert answer["entities"][2] is None and answer["results"]["totalCount"] == 0


def test_introspection_is_asked_for_a_few_times_at_most(flavour: Flavour) -> None:
    """200 aliased ``__schema`` selections ran 11 s without yielding (graphql-core resolves introspection
    synchronously: the event loop stood still and graphql_timeout could not stop it) for a 13 MB answer."""
    one = "__schema { types { name fields { name args { name type { name } } type { name kind ofType { name } } } } }"
    within = ask(flavour, "{ " + " ".join(f"a{i}: {one}" for i in range(MAX_INTROSPECTIONS)) + " }", role="nobody")
    assert len(within["data"]) == MAX_INTROSPECTIONS and "errors" not in within
    for query in (
        "{ " + " ".join(f"a{i}: {one}" for i in range(200)) + " }",
        '{ ...F ...G } fragment F on Query { a: __schema { queryType { name } } b: __type(name: "Session") { name } '
        'c: __type(name: "Query") { name } } fragment G on Query { ...F d: __schema { types { name } } }',
    ):
        started = time.monotonic()
        refused = ask(flavour, query, role="nobody")
        assert time.monotonic() - started < 2
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "MAX_INTROSPECTIONS"
        assert f"over the limit of {MAX_INTROSPECTIONS}" in refused["errors"][0]["message"]
    graphiql = ask(flavour, get_introspection_query(descriptions=True), role="nobody")  # what GraphiQL sends
    assert graphiql["data"]["__schema"]["queryType"]["name"] == "Query" and "errors" not in graphiql


def test_a_timeout_while_the_scope_is_read_leaves_the_session_sound(
    flavour: Flavour,
    strict: tuple[TestClient, dict[str, str]],  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The document scope's read is shielded from its callers' cancellation: stopped at graphql_timeout, it went
    on using the request's connection while the session rolled back on it (a 500: ``readexactly() called while
    another coroutine is already waiting``). It is now stopped before the session closes."""
    client, headers = strict  # graphql_timeout = 0.5 s
    finished = []

    async def slow(db: Any, scope: Any) -> dict[str, Any]:
        await db.scalar(select(func.sleep(2)))
        finished.append(True)
        return {}

    monkeypatch.setattr(context, "document_scope", slow)
    query = {"query": f"{{ dataCollection(dataCollectionId: {flavour.data.dcs['a0']}) {{ results {{ resultId }} }} }}"}
    answer = client.post(URL, json=query, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    monkeypatch.undo()
    time.sleep(2)
    assert finished == []  # stopped, not run to its end
    session = {"query": f"{{ session(sessionId: {flavour.data.sessions['a']}) {{ sessionId }} }}"}
    for _ in range(12):  # more than the pool holds: each gets a sound connection
        again = client.post(URL, json=session, headers=headers)
        assert again.json()["data"] == {"session": {"sessionId": flavour.data.sessions["a"]}}, again.text


def test_a_variable_left_out_is_weighed_at_its_default(flavour: Flavour) -> None:
    """``query($n: Int = 10000)`` without ``n``: the page was weighed as 25 (no value given) and ran 10,000."""
    query = """query($n: Int = 10000, $m: Int = 100) { sessions(first: $n) { edges { node {
      dataCollections(first: $m) { totalCount } } } } }"""
    over = ask(flavour, query)  # 10,000 + 10,000·100
    assert over["data"] is None and over["errors"][0]["extensions"]["code"] == "MAX_COST", over
    assert "may return 1010000 objects" in over["errors"][0]["message"]
    assert "errors" not in ask(flavour, query, n=10, m=10)  # given values win over defaults
    one = f'{{__typename: "Session", sessionId: {flavour.data.sessions["a"]}}}'
    entities = f"""query($r: [_Any!]! = [{", ".join([one] * 500)}]) {{ _entities(representations: $r) {{
      ... on Session {{ dataCollections(first: 100) {{ totalCount }} }} }} }}"""
    assert ask(flavour, entities)["errors"][0]["extensions"]["code"] == "MAX_COST"
    two = """query A($n: Int = 10) { ...F } query B($n: Int = 10000) { ...F }
      fragment F on Query { sessions(first: $n) { edges { node { dataCollections(first: 100) { totalCount } } } } }"""
    answer = flavour.client.post(URL, json={"query": two, "operationName": "A"}, headers=flavour.token("sci_a"))
    assert answer.json()["errors"][0]["extensions"]["code"] == "MAX_COST"  # B's own weight, not A's of F


def test_a_second_worker_learns_a_persisted_query_itself(
    flavour: Flavour,
    strict: tuple[TestClient, dict[str, str]],  # noqa: F811 (a second app: another worker's cache)
) -> None:
    """Each worker keeps its own APQ cache: a hash another worker learnt is PersistedQueryNotFound here, which
    Apollo's clients answer by sending the query with its hash once more."""
    query = f"{{ session(sessionId: {flavour.data.sessions['a']}) {{ sessionId }} }} # {uuid.uuid4()}"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    first = flavour.client.post(URL, json={"query": query, "extensions": persisted}, headers=flavour.token("sci_a"))
    assert first.json()["data"] == {"session": {"sessionId": flavour.data.sessions["a"]}}
    client, headers = strict
    unknown = client.post(URL, json={"extensions": persisted}, headers=headers).json()
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert client.post(URL, json={"query": query, "extensions": persisted}, headers=headers).json()["data"]
    assert client.post(URL, json={"extensions": persisted}, headers=headers).json()["data"] == first.json()["data"]


def test_several_operations_need_an_operation_name(flavour: Flavour) -> None:
    """GraphQL over HTTP: a document of several operations without ``operationName`` is refused; strawberry ran
    the first one."""
    two = "query A { a: __typename } query B { b: __typename }"
    refused = raw(flavour, json.dumps({"query": two}).encode()).json()
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "OPERATION_NAME_REQUIRED"
    assert "holds 2 operations" in refused["errors"][0]["message"]
    assert raw(flavour, json.dumps({"query": two, "operationName": "B"}).encode()).json() == {"data": {"b": "Query"}}
    assert ask(flavour, "query A { a: __typename }") == {"data": {"a": "Query"}}
