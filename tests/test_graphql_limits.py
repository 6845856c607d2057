"""GraphQL's limits over the wire, on both flavours: depth, cost from page sizes, aliases, document size and
tokens, fragment bombs and cycles, timeout (the query cancelled, the service still answering), introspection
switched off, and Apollo persisted queries. Each refusal is a 200 with a GraphQL error naming the limit."""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.graphql import limits
from app.main import create_app
from documents import batched
from relational import best_processing
from relational import sessions as relational_sessions
from tests.conftest import Flavour, make_settings

API = "/ispyb/api/v1"
HOP = "dataCollections(first: 2) { edges { node { BLSession { "  # two levels: the connection, the session


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    r = client.post(f"{API}/graphql", json=body, headers=headers)
    assert time.monotonic() - started < 10, "a refusal must come quickly"
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def ask(f: Flavour, query: str, **variables: Any) -> dict[str, Any]:
    return post(f.client, f.token("sci_a"), {"query": query, "variables": variables})


def codes(answer: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in answer.get("errors", [])]


def deep(hops: int) -> str:
    return "query($s: Int!) { session(sessionId: $s) { " + HOP * hops + "sessionId" + " } } } }" * hops + " } }"


def test_depth(flavour: Flavour) -> None:
    s = flavour.data.sessions["a"]
    within = ask(flavour, deep(4), s=s)  # 1 + 2·4 = 9 levels (edges and node count none)
    assert "errors" not in within, within
    assert within["data"]["session"]["dataCollections"]["edges"][0]["node"]["BLSession"]["dataCollections"]
    over = ask(flavour, deep(5), s=s)  # 11 levels
    assert over["data"] is None and codes(over) == ["MAX_DEPTH"]
    assert "11 levels deep, over the limit of 10 (graphql_max_depth)" in over["errors"][0]["message"]


def test_cost_from_page_sizes(flavour: Flavour) -> None:
    query = """query($n: Int!, $m: Int!) { sessions(first: $n) { edges { node {
        dataCollections(first: $m) { edges { node { dataCollectionId } } } } } } }"""
    assert "errors" not in ask(flavour, query, n=100, m=400)  # 100 + 100·400 = 40,100 objects at most
    over = ask(flavour, query, n=100, m=500)  # 50,100
    assert over["data"] is None and codes(over) == ["MAX_COST"]
    assert "may return 50100 objects, over the cost limit of 50000 (graphql_max_cost)" in over["errors"][0]["message"]
    literal = (
        "{ sessions(first: 10000) { edges { node { dataCollections { edges { node { dataCollectionId } } } } } } }"
    )
    assert codes(ask(flavour, literal)) == ["MAX_COST"]  # 10,000 + 10,000·25 (the default page)


def test_aliases_and_size(flavour: Flavour) -> None:
    one = f"session(sessionId: {flavour.data.sessions['a']}) {{ sessionId }}"
    aliases = "{ " + " ".join(f"a{i}: {one}" for i in range(201)) + " }"
    refused = ask(flavour, aliases)
    assert refused["data"] is None and codes(refused) == ["MAX_ALIASES"]
    assert "201 aliases, over the limit of 200" in refused["errors"][0]["message"]
    within = ask(flavour, aliases.replace(f"a200: {one}", ""))
    assert "errors" not in within and len(within["data"]) == 200
    thousand = "{ " + " ".join(f"a{i}: session(sessionId: 1) {{ sessionId }}" for i in range(1000)) + " }"
    tokens = ask(flavour, thousand)  # 9,000 tokens and more
    assert tokens["data"] is None and "more than 10000 tokens" in tokens["errors"][0]["message"]
    huge = ask(flavour, "{ __typename }" + " " * 100_000)
    assert codes(huge) == ["QUERY_TOO_LARGE"] and "100014 characters long" in huge["errors"][0]["message"]
    nested = ask(flavour, "{ session(sessionId: 1) " + "{ BLSession " * 2000 + "}" * 2001)
    assert nested["data"] is None and "nested too deeply" in nested["errors"][0]["message"]


def bomb(leaf: str) -> str:
    """40 fragments, each spreading the next 60 times: 60^40 expansions if each spread were walked."""
    fan = " ".join("...F{0}" for _ in range(60))
    fragments = [f"fragment F{i} on Query {{ __typename {fan.format(i + 1)} }}" for i in range(40)]
    return "\n".join(["{ ...F0 }", *fragments, f"fragment F40 on Query {{ {leaf} }}"])


def test_fragments(flavour: Flavour) -> None:
    started = time.monotonic()
    answer = ask(flavour, bomb("__typename"))  # weighs nothing: runs, each field once
    assert answer == {"data": {"__typename": "Query"}}
    refused = ask(flavour, bomb("sessions(first: 1) { totalCount }"))  # each spread asks for a page
    assert codes(refused) == ["MAX_COST"] and "more than 10^15 objects" in refused["errors"][0]["message"]
    assert time.monotonic() - started < 5
    cycle = ask(flavour, "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    assert (
        cycle["data"] is None and "Cannot spread fragment 'A' within itself via 'B'." in cycle["errors"][0]["message"]
    )
    unknown = ask(flavour, "{ ...Nope }")
    assert unknown["data"] is None and "Unknown fragment 'Nope'." in unknown["errors"][0]["message"]


def test_persisted_queries(flavour: Flavour) -> None:
    query = f"{{ session(sessionId: {flavour.data.sessions['a']}) {{ sessionId }} }} # {uuid.uuid4()}"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = flavour.token("sci_a")
    unknown = post(flavour.client, headers, {"extensions": persisted})
    assert (
        codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"] and unknown["errors"][0]["message"] == "PersistedQueryNotFound"
    )
    expected = {"session": {"sessionId": flavour.data.sessions["a"]}}
    assert post(flavour.client, headers, {"query": query, "extensions": persisted})["data"] == expected
    assert post(flavour.client, headers, {"extensions": persisted})["data"] == expected
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    assert codes(post(flavour.client, headers, {"query": query, "extensions": wrong})) == ["BAD_PERSISTED_QUERY"]
    version = {"persistedQuery": {"version": 2, "sha256Hash": digest}}
    assert codes(post(flavour.client, headers, {"extensions": version})) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


def test_persisted_cache_is_bounded() -> None:
    cache = limits.PersistedQueries(max_chars=100)
    queries = [f"{{ a{i:02d} {'x' * 30} }}" for i in range(10)]  # 38 characters each: two fit
    digests = [hashlib.sha256(q.encode()).hexdigest() for q in queries]
    for query, digest in zip(queries, digests, strict=True):
        assert cache.resolve(query, {"version": 1, "sha256Hash": digest}) == query
    assert list(cache.queries) == digests[-2:] and cache.chars == sum(map(len, queries[-2:]))
    assert cache.resolve(None, {"version": 1, "sha256Hash": digests[-2]}) == queries[-2]  # used: kept longest
    cache.resolve(queries[0], {"version": 1, "sha256Hash": digests[0]})
    assert list(cache.queries) == [digests[-2], digests[0]]


@pytest.fixture
def strict(flavour: Flavour, oidc_key: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app of its own: introspection off, a 0.5 s timeout."""
    settings = make_settings(
        flavour.url,
        flavour.settings.mongo_url,
        f"t{uuid.uuid4().hex[:6]}",
        oidc_key,
        graphql_introspection=False,
        graphql_timeout=0.5,
    )
    with TestClient(create_app(settings)) as client:
        login = {"plugin": "dummy", "login": f"sci_a_{flavour.name}"}
        yield client, {"Authorization": f"Bearer {client.post(f'{API}/auth/login', json=login).json()['token']}"}


def test_introspection_switch(flavour: Flavour, strict: tuple[TestClient, dict[str, str]]) -> None:
    query = "{ __schema { queryType { name } } }"
    assert ask(flavour, query)["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    client, headers = strict
    off = post(client, headers, {"query": query})
    assert off["data"] is None and "introspection" in off["errors"][0]["message"].lower()
    assert post(client, headers, {"query": "{ __typename }"})["data"] == {"__typename": "Query"}


def test_timeout(flavour: Flavour, strict: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A query still running after graphql_timeout is cancelled, its reads too: a GraphQL error naming the limit,
    and the service answers the next query."""
    client, headers = strict
    cancelled = []

    async def hang(*args: Any, **kwargs: Any) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    monkeypatch.setattr(batched, "latest_results", hang)
    query = {"query": f"{{ dataCollection(dataCollectionId: {flavour.data.dcs['a0']}) {{ results {{ resultId }} }} }}"}
    started = time.monotonic()
    answer = post(client, headers, query)
    assert time.monotonic() - started < 3
    assert answer["data"] is None and codes(answer) == ["TIMEOUT"]
    assert (
        answer["errors"][0]["message"] == "The query ran over the time limit of 0.5 s (graphql_timeout) and was stopped"
    )
    monkeypatch.undo()
    again = post(client, headers, {"query": f"{{ session(sessionId: {flavour.data.sessions['a']}) {{ sessionId }} }}"})
    assert again["data"] == {"session": {"sessionId": flavour.data.sessions["a"]}}
    assert cancelled == [True]  # the store's read was cancelled with the query, not left running


def test_timeout_during_sql(
    flavour: Flavour, strict: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The query cancelled while MariaDB runs one of its statements: the answer still comes at the limit, and the
    connection it held does not poison the next requests."""
    client, headers = strict

    async def slow(db: Any, dc_ids: Any) -> Any:
        await db.scalar(select(func.sleep(3)))
        return {}

    monkeypatch.setattr(best_processing, "mx_candidates", slow)
    query = {"query": f"{{ dataCollection(dataCollectionId: {flavour.data.dcs['a0']}) {{ bestResult {{ reason }} }} }}"}
    started = time.monotonic()
    answer = post(client, headers, query)
    assert time.monotonic() - started < 2.5 and codes(answer) == ["TIMEOUT"]
    monkeypatch.undo()
    for _ in range(12):  # more than the pool holds: each gets a sound connection
        best = post(client, headers, query)
        assert best["data"]["dataCollection"]["bestResult"]["reason"], best


def test_timeout_during_a_top_level_statement_is_the_time_limit_not_the_database(
    strict: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A top-level field's statement (awaited in the query's own task, no batch between) stopped at the limit: the
    cancellation is the time limit's, not a database that does not answer (SQLAlchemy counts a cancelled statement
    a disconnect)."""
    client, headers = strict

    async def slow(db: Any, *args: Any, **kwargs: Any) -> Any:
        await db.execute(select(func.sleep(3).label("slept")))
        return 0, []

    monkeypatch.setattr(relational_sessions, "get_sessions", slow)
    answer = post(client, headers, {"query": "{ sessions { totalCount } }"})
    assert codes(answer) == ["TIMEOUT"], answer
