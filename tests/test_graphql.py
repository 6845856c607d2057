"""GraphQL's relational core on both flavours: answers equal REST's for the same fields, the endpoint's edges
(401, GraphiQL, queries only), connections and bad arguments."""

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from app.graphql.schema import build_schema
from app.main import create_app
from app.settings import Settings
from tests.conftest import Flavour

API = "/ispyb/api/v1"
SCHEMA = build_schema(Settings(_env_file=None, mode="dev"))._schema


def scalars(type_name: str) -> list[str]:
    """The leaf fields (no arguments) of a GraphQL type, read from the schema."""
    kind = SCHEMA.type_map[type_name]
    assert isinstance(kind, GraphQLObjectType)
    return [name for name, f in kind.fields.items() if is_leaf_type(get_named_type(f.type)) and not f.args]


def selection(type_name: str) -> str:
    return " ".join(scalars(type_name))


def gql(f: Flavour, role: str | None, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The GraphQL answer (``data`` and ``errors``) to ``role``; asserts HTTP 200."""
    headers = f.token(role) if role else {}
    r = f.client.post(f"{API}/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text[:400]
    answer: dict[str, Any] = r.json()
    return answer


def rest(f: Flavour, role: str, path: str) -> Any:
    r = f.client.get(API + path, headers=f.token(role))
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
    return r.json()


def same_fields(type_name: str, graph: dict[str, Any], served: dict[str, Any]) -> int:
    """Asserts each field both answers hold is equal; how many were compared."""
    shared = [name for name in scalars(type_name) if name in served]
    for name in shared:
        assert graph[name] == served[name], f"{type_name}.{name}: GraphQL {graph[name]!r}, REST {served[name]!r}"
    return len(shared)


def add_contact(f: Flavour) -> int:
    body = {
        "proposalId": rest(f, "sci_a", f"/proposals/{f.data.proposals['a']}")["proposalId"],
        "cardName": "card-graphql",
        "Person": {"givenName": "Ada", "familyName": "Lovelace", "Laboratory": {
            "name": "Lab", "address": "1 Road", "city": "Grenoble", "country": "France"}},
    }  # fmt: skip
    r = f.client.post(f"{API}/labcontacts", json=body, headers=f.token("sci_a"))
    assert r.status_code == 201, r.text
    contact_id: int = r.json()["labContactId"]
    return contact_id


def test_objects_equal_rest(flavour: Flavour) -> None:
    f, d = flavour, flavour.data
    contact, a1 = add_contact(f), d.dcs["a1"]
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("Proposal", "proposal(proposal: $s)", {"s": d.proposals["a"]}, f"/proposals/{d.proposals['a']}"),
        ("Session", "session(sessionId: $i)", {"i": d.sessions["a"]}, f"/sessions/{d.sessions['a']}"),
        ("DataCollection", "dataCollection(dataCollectionId: $i)", {"i": d.dcs["a1"]}, f"/datacollections/{a1}"),
        ("Shipping", "shipping(shippingId: $i)", {"i": d.shippings["a"]}, f"/shippings/{d.shippings['a']}"),
        ("Dewar", "dewar(dewarId: $i)", {"i": d.dewars["a"]}, f"/dewars/{d.dewars['a']}"),
        ("Container", "container(containerId: $i)", {"i": d.containers["a"]}, f"/containers/{d.containers['a']}"),
        ("BLSample", "sample(blSampleId: $i)", {"i": d.samples["a"]}, f"/samples/{d.samples['a']}"),
        ("Protein", "protein(proteinId: $i)", {"i": d.proteins["a"]}, f"/proteins/{d.proteins['a']}"),
        ("LabContact", "labContact(labContactId: $i)", {"i": contact}, f"/labcontacts/{contact}"),
    ]  # fmt: skip
    for type_name, root, variables, path in cases:
        kind = "String!" if "s" in variables else "Int!"
        name = next(iter(variables))
        answer = gql(f, "sci_a", f"query(${name}: {kind}) {{ {root} {{ {selection(type_name)} }} }}", variables)
        assert "errors" not in answer, answer
        graph = next(iter(answer["data"].values()))
        served = rest(f, "sci_a", path)
        assert same_fields(type_name, graph, served) >= 4, type_name


def test_nested_objects_equal_rest(flavour: Flavour) -> None:
    """The same objects reached through edges: the collection's group and sample, the contact's person."""
    f, d = flavour, flavour.data
    contact = add_contact(f)
    query = f"""query($dc: Int!, $c: Int!) {{
      dataCollection(dataCollectionId: $dc) {{
        DataCollectionGroup {{ {selection("DataCollectionGroup")} }}
        BLSession {{ {selection("Session")} }}
        BLSample {{ {selection("BLSample")} Protein {{ {selection("Protein")} }} }}
      }}
      labContact(labContactId: $c) {{ Person {{ {selection("Person")} Laboratory {{ {selection("Laboratory")} }} }} }}
    }}"""
    answer = gql(f, "sci_a", query, {"dc": d.dcs["a1"], "c": contact})
    assert "errors" not in answer, answer
    dc, served = answer["data"]["dataCollection"], rest(f, "sci_a", f"/datacollections/{d.dcs['a1']}")
    assert same_fields("DataCollectionGroup", dc["DataCollectionGroup"], served["DataCollectionGroup"]) >= 4
    assert same_fields("Session", dc["BLSession"], served["BLSession"]) >= 5
    assert same_fields("BLSample", dc["BLSample"], served["BLSample"]) >= 4
    assert dc["BLSample"]["Protein"]["acronym"] == served["BLSample"]["acronym"]
    person = rest(f, "sci_a", f"/labcontacts/{contact}")["Person"]
    graph_person = answer["data"]["labContact"]["Person"]
    assert same_fields("Person", graph_person, person) >= 4
    assert same_fields("Laboratory", graph_person["Laboratory"], person["Laboratory"]) >= 6


def test_lists_equal_rest(flavour: Flavour) -> None:
    """Root lists and edges hold what REST's lists hold, in the same order."""
    f, d = flavour, flavour.data
    for role in ("sci_a", "admin", "staff"):
        answer = gql(
            f, role, f"{{ sessions(first: 50) {{ totalCount edges {{ node {{ {selection('Session')} }} }} }} }}"
        )
        served = rest(f, role, "/sessions?limit=50")
        graph = answer["data"]["sessions"]
        assert graph["totalCount"] == served["total"]
        assert [e["node"]["sessionId"] for e in graph["edges"]] == [s["sessionId"] for s in served["results"]]
        for node, item in zip((e["node"] for e in graph["edges"]), served["results"], strict=True):
            same_fields("Session", node, item)
    query = """query($p: String!) { proposal(proposal: $p) {
      shippings { edges { node { shippingId dewars { edges { node { dewarId } } } } } }
      proteins { edges { node { proteinId acronym } } }
    } }"""
    answer = gql(f, "sci_a", query, {"p": d.proposals["a"]})
    assert "errors" not in answer, answer
    shipping = answer["data"]["proposal"]["shippings"]["edges"]
    assert [e["node"]["shippingId"] for e in shipping] == [
        s["shippingId"] for s in rest(f, "sci_a", f"/shippings?proposal={d.proposals['a']}")["results"]
    ]
    assert [e["node"]["dewarId"] for e in shipping[0]["node"]["dewars"]["edges"]] == [
        w["dewarId"] for w in rest(f, "sci_a", f"/dewars?shippingId={d.shippings['a']}")["results"]
    ]
    proteins = answer["data"]["proposal"]["proteins"]["edges"]
    assert [(e["node"]["proteinId"], e["node"]["acronym"]) for e in proteins] == [
        (p["proteinId"], p["acronym"]) for p in rest(f, "sci_a", f"/proteins?proposal={d.proposals['a']}")["results"]
    ]
    samples = gql(f, "sci_a", "{ samples { edges { node { blSampleId name crystalId proteinId } } } }")["data"]
    assert [e["node"] for e in samples["samples"]["edges"]] == [
        {"blSampleId": b["blSampleId"], "name": b["name"], "crystalId": b["Crystal"]["crystalId"],
         "proteinId": b["Crystal"]["Protein"]["proteinId"]}
        for b in rest(f, "sci_a", "/samples")["results"]
    ]  # fmt: skip
    query = """query($d: Int!) { dewar(dewarId: $d) {
      containers { edges { node { containerId samples { edges { node { blSampleId } } } } } } } }"""
    containers = gql(f, "sci_a", query, {"d": d.dewars["a"]})["data"]["dewar"]["containers"]["edges"]
    assert [e["node"]["containerId"] for e in containers] == [
        c["containerId"] for c in rest(f, "sci_a", f"/containers?dewarId={d.dewars['a']}")["results"]
    ]
    assert [e["node"]["blSampleId"] for e in containers[0]["node"]["samples"]["edges"]] == [
        b["blSampleId"] for b in rest(f, "sci_a", f"/samples?containerId={d.containers['a']}")["results"]
    ]


def test_integrations_equal_rest(flavour: Flavour) -> None:
    f, d = flavour, flavour.data
    query = f"""query($dc: Int!) {{ dataCollection(dataCollectionId: $dc) {{ autoProcIntegrations {{ totalCount
      edges {{ node {{ {selection("AutoProcIntegration")} AutoProcProgram {{ {selection("AutoProcProgram")} }}
        scalingStatistics {{ {selection("AutoProcScalingStatistics")} }} }} }} }} }} }}"""
    answer = gql(f, "sci_a", query, {"dc": d.dcs["a0"]})
    assert "errors" not in answer, answer
    integrations = answer["data"]["dataCollection"]["autoProcIntegrations"]
    programs = rest(f, "sci_a", f"/processings/auto-integrations?dataCollectionId={d.dcs['a0']}")["results"]
    served = [(p, i) for p in programs for i in p["AutoProcIntegration"]]
    assert integrations["totalCount"] == len(served) == 1
    node, (program, integration) = integrations["edges"][0]["node"], served[0]
    assert same_fields("AutoProcIntegration", node, integration) >= 3
    assert same_fields("AutoProcProgram", node["AutoProcProgram"], program) >= 6
    shells = [
        s for link in integration["AutoProcScalingHasInt"] for s in link["AutoProcScaling"]["AutoProcScalingStatistics"]
    ]
    assert [s["scalingStatisticsType"] for s in node["scalingStatistics"]] == [
        s["scalingStatisticsType"] for s in shells
    ]
    assert len(shells) == 3
    for graph, item in zip(node["scalingStatistics"], shells, strict=True):
        assert same_fields("AutoProcScalingStatistics", graph, item) >= 15
    empty = gql(f, "sci_a", query, {"dc": d.dcs["a1"]})["data"]["dataCollection"]["autoProcIntegrations"]
    assert empty == {"totalCount": 0, "edges": []}


def test_connection_pages(flavour: Flavour) -> None:
    """first/after walk a list one by one, in REST's order, and say where they are."""
    f, d = flavour, flavour.data
    query = """query($s: Int!, $after: String) { session(sessionId: $s) { dataCollections(first: 1, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { dataCollectionId } } } } }"""
    seen, after, pages = [], None, 0
    while True:
        part = gql(f, "sci_a", query, {"s": d.sessions["a"], "after": after})["data"]["session"]["dataCollections"]
        assert part["totalCount"] == 2
        assert part["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["dataCollectionId"] for e in part["edges"]]
        pages += 1
        after = part["pageInfo"]["endCursor"]
        if not part["pageInfo"]["hasNextPage"]:
            break
    assert pages == 2
    assert seen == [d.dcs["a0"], d.dcs["a1"]]  # oldest first, as the session's overview
    past = gql(f, "sci_a", query, {"s": d.sessions["a"], "after": after})["data"]["session"]["dataCollections"]
    assert past["edges"] == [] and past["totalCount"] == 2 and past["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("first: 0", "`first`"),
        ("first: 10001", "`first`"),
        ('after: "garbage"', "`after`"),
        ('after: "Y3Vyc29yOjk5OTk5OTk5OTk5OTk="', "`after`"),
        ('after: "Y3Vyc29yOi0x"', "`after`"),
        ("first: 99999999999", "Int cannot represent"),
    ],
)
def test_bad_page_arguments(flavour: Flavour, arguments: str, message: str) -> None:
    answer = gql(flavour, "sci_a", f"{{ sessions({arguments}) {{ totalCount }} }}")
    assert answer.get("data") in (None, {"sessions": None}) if "Int" not in message else True
    assert any(message in e["message"] for e in answer["errors"]), answer


@pytest.mark.parametrize(
    "query",
    [
        '{ proposals(search: "%s") { totalCount } }' % ("x" * 100_001),
        '{ proposal(proposal: "not a proposal") { proposalId } }',
        '{ proposal(proposal: "") { proposalId } }',
        '{ sessions(proposal: "$where") { totalCount } }',
        '{ sessions(beamLineName: "%s") { totalCount } }' % ("é" * 46),
        "{ session(sessionId: 2147483647) { sessionId } }",
        "{ session(sessionId: -1) { sessionId } }",
        "{ session(sessionId: 4294967295) { sessionId } }",
    ],
)
def test_hostile_arguments_answer_errors(flavour: Flavour, query: str) -> None:
    """Never a 500, never data for what is wrong: a GraphQL error naming the argument or the object."""
    answer = gql(flavour, "admin", query)
    assert answer["errors"], answer
    data = answer.get("data") or {}
    assert all(v is None for v in data.values()), answer


def test_unauthenticated_is_401(flavour: Flavour) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        r = flavour.client.post(f"{API}/graphql", json={"query": "{ proposals { totalCount } }"}, headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_body_must_be_a_graphql_request(flavour: Flavour) -> None:
    headers = flavour.token("sci_a")
    for body in ({}, {"query": 5}, {"query": "{ proposals { totalCount } }", "variables": [1]}):
        r = flavour.client.post(f"{API}/graphql", json=body, headers=headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_queries_only(flavour: Flavour) -> None:
    headers = flavour.token("admin")
    for query in ("mutation { proposals { totalCount } }", "subscription { proposals { totalCount } }"):
        r = flavour.client.post(f"{API}/graphql", json={"query": query}, headers=headers)
        assert r.status_code == 422 and "Only queries" in r.json()["detail"], r.text
    body = {"query": "query A { proposals { totalCount } }", "operationName": "B"}
    r = flavour.client.post(f"{API}/graphql", json=body, headers=headers)
    assert r.status_code == 422 and "`B`" in r.json()["detail"], r.text
    # GET never runs a query: it is GraphiQL's page (in dev mode) whatever the query string
    r = flavour.client.get(f"{API}/graphql", params={"query": "{ proposals { totalCount } }"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "totalCount" not in r.text


def test_graphiql_absent_in_production(flavour: Flavour) -> None:
    settings = flavour.settings.model_copy(update={"mode": "production"})
    with TestClient(create_app(settings)) as client:
        r: httpx.Response = client.get(f"{API}/graphql")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        login = client.post(
            f"{API}/auth/login", json={"plugin": "dummy", "login": f"sci_a_{flavour.name}", "password": "x"}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        r = client.post(f"{API}/graphql", json={"query": "{ proposals { totalCount } }"}, headers=headers)
        assert r.status_code == 200 and r.json()["data"]["proposals"]["totalCount"] == 1


def test_document_edges(flavour: Flavour) -> None:
    """DataCollection.results and Session.logbook hold what REST holds, also through federation's _entities;
    another proposal's member gets null."""
    f, d = flavour, flavour.data
    result = {"kind": "mx.autoproc", "program": {"name": "xia2", "version": "1"}, "dataCollectionIds": [d.dcs["a0"]]}
    r = f.client.post(f"{API}/results", json=result, headers=f.token("sci_a"))
    assert r.status_code == 201, r.text
    note = {"sessionId": d.sessions["a"], "text": "beam lost", "kind": "note"}
    r = f.client.post(f"{API}/logbook", json=note, headers=f.token("sci_a"))
    assert r.status_code == 201, r.text
    entry = r.json()["entryId"]
    query = """query($dc: Int!, $s: Int!, $r: [_Any!]!) {
      dataCollection(dataCollectionId: $dc) { results { resultId kind dataCollectionIds } bestResult { reason } }
      session(sessionId: $s) { metrics { emCtf { __typename } } logbook { nodes { entryId text } } }
      _entities(representations: $r) { ... on DataCollection { results { resultId } } } }"""
    variables = {
        "dc": d.dcs["a0"],
        "s": d.sessions["a"],
        "r": [{"__typename": "DataCollection", "dataCollectionId": d.dcs["a0"]}],
    }
    answer = gql(f, "sci_a", query, variables)
    assert "errors" not in answer, answer
    served = rest(f, "sci_a", f"/results?dataCollectionId={d.dcs['a0']}")["results"]
    got = answer["data"]["dataCollection"]["results"]
    assert [(g["resultId"], g["kind"], g["dataCollectionIds"]) for g in got] == [
        (s["resultId"], s["kind"], s["dataCollectionIds"]) for s in served
    ]
    assert len(got) == 1
    best = rest(f, "sci_a", f"/datacollections/{d.dcs['a0']}/best-result")
    assert answer["data"]["dataCollection"]["bestResult"] == {"reason": best["reason"]}
    assert answer["data"]["_entities"] == [{"results": [{"resultId": got[0]["resultId"]}]}]
    session = answer["data"]["session"]
    assert session["metrics"] == {"emCtf": {"__typename": "EmCtfStats"}}
    assert session["logbook"]["nodes"] == [{"entryId": entry, "text": "beam lost"}]
    other = gql(f, "sci_b", query, variables)
    assert other["data"] == {"dataCollection": None, "session": None, "_entities": [None]}


def test_unexpected_errors_are_masked(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault inside a resolver is an error at its path with a masked message; the other fields answer."""

    async def broken(*args: object) -> None:
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr("relational.sessions.by_session_ids", broken)
    d = flavour.data
    query = "query($s: Int!, $p: String!) { session(sessionId: $s) { sessionId } proposal(proposal: $p) { title } }"
    answer = gql(flavour, "sci_a", query, {"s": d.sessions["a"], "p": d.proposals["a"]})
    assert answer["data"]["session"] is None and answer["data"]["proposal"]["title"]
    [error] = answer["errors"]
    assert error["path"] == ["session"] and error["message"] == "Unexpected error."


def test_contacts_and_groups_edges(flavour: Flavour) -> None:
    f, d = flavour, flavour.data
    contact = add_contact(f)
    query = """query($p: String!, $s: Int!) {
      proposal(proposal: $p) { labContacts { totalCount edges { node { labContactId cardName } } } }
      session(sessionId: $s) { dataCollectionGroups { edges { node { dataCollectionGroupId
        dataCollections { edges { node { dataCollectionId } } } } } } } }"""
    answer = gql(f, "sci_a", query, {"p": d.proposals["a"], "s": d.sessions["a"]})
    assert "errors" not in answer, answer
    served = rest(f, "sci_a", f"/labcontacts?proposal={d.proposals['a']}")["results"]
    contacts = answer["data"]["proposal"]["labContacts"]
    assert [e["node"] for e in contacts["edges"]] == [
        {"labContactId": c["labContactId"], "cardName": c["cardName"]} for c in served
    ]
    assert contact in {c["labContactId"] for c in served} and contacts["totalCount"] == len(served)
    groups = answer["data"]["session"]["dataCollectionGroups"]["edges"]
    assert [g["node"]["dataCollectionGroupId"] for g in groups] == [d.groups["a"]]
    assert [c["node"]["dataCollectionId"] for c in groups[0]["node"]["dataCollections"]["edges"]] == [
        d.dcs["a0"],
        d.dcs["a1"],
    ]
