"""Who sees what through GraphQL: roles × root fields, nested edges and federation's _entities, on both flavours.
The reach of each role comes from the test data set (sci_a: proposal a; sci_b: b; staff: beamline tb01, so a;
admin: both; nobody: none); nothing out of reach may show, at any depth."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import BLSession, DataCollection, DataCollectionGroup, SessionHasPerson
from tests.conftest import Flavour
from tests.factories import BEAMLINE_B
from tests.test_graphql import gql

REACH = {"sci_a": {"a"}, "sci_b": {"b"}, "staff": {"a"}, "admin": {"a", "b"}, "nobody": set()}
#: root field, its argument and type, the data set's ids it takes, the id field of the answer
SINGLE = [
    ("proposal", "proposal", "String!", "proposals", "proposal"),
    ("session", "sessionId", "Int!", "sessions", "sessionId"),
    ("dataCollectionGroup", "dataCollectionGroupId", "Int!", "groups", "dataCollectionGroupId"),
    ("shipping", "shippingId", "Int!", "shippings", "shippingId"),
    ("dewar", "dewarId", "Int!", "dewars", "dewarId"),
    ("container", "containerId", "Int!", "containers", "containerId"),
    ("sample", "blSampleId", "Int!", "samples", "blSampleId"),
    ("protein", "proteinId", "Int!", "proteins", "proteinId"),
]
LISTS = [
    ("proposals", "proposal", "proposals"),
    ("sessions", "sessionId", "sessions"),
    ("shippings", "shippingId", "shippings"),
    ("samples", "blSampleId", "samples"),
    ("proteins", "proteinId", "proteins"),
]
#: federation entity, its key, the data set's ids
ENTITIES = [
    ("Session", "sessionId", "sessions"),
    ("DataCollectionGroup", "dataCollectionGroupId", "groups"),
    ("Shipping", "shippingId", "shippings"),
    ("Dewar", "dewarId", "dewars"),
    ("Container", "containerId", "containers"),
    ("BLSample", "blSampleId", "samples"),
    ("Protein", "proteinId", "proteins"),
]
ROLES = sorted(REACH)


@pytest.mark.parametrize("role", ROLES)
def test_single_objects(flavour: Flavour, role: str) -> None:
    d = flavour.data
    for field, argument, kind, ids, key in SINGLE:
        for owner in ("a", "b"):
            value = getattr(d, ids)[owner]
            answer = gql(flavour, role, f"query($v: {kind}) {{ {field}({argument}: $v) {{ {key} }} }}", {"v": value})
            if owner in REACH[role]:
                assert answer["data"][field] == {key: value} and "errors" not in answer, (field, owner, answer)
            else:
                assert answer["data"] == {field: None}, (role, field, owner, answer)
                [error] = answer["errors"]
                assert error["path"] == [field] and "not found" in error["message"], error
    for owner in ("a", "b"):
        for dc in (d.dcs[f"{owner}0"], d.dcs[f"{owner}1"]):
            answer = gql(flavour, role, "query($v: Int!) { dataCollection(dataCollectionId: $v) { dataCollectionId } }",
                         {"v": dc})  # fmt: skip
            expected = {"dataCollectionId": dc} if owner in REACH[role] else None
            assert answer["data"]["dataCollection"] == expected, (role, dc, answer)


@pytest.mark.parametrize("role", ROLES)
def test_lists(flavour: Flavour, role: str) -> None:
    d = flavour.data
    for field, key, ids in LISTS:
        answer = gql(flavour, role, f"{{ {field}(first: 10000) {{ totalCount edges {{ node {{ {key} }} }} }} }}")
        got = {e["node"][key] for e in answer["data"][field]["edges"]}
        ours = {getattr(d, ids)[owner]: owner for owner in ("a", "b")}
        assert {ours[i] for i in got if i in ours} == REACH[role], (role, field, got)
        if role != "admin":  # the dump's own rows belong to no one of the data set
            assert got <= set(ours), (role, field, got)
            assert answer["data"][field]["totalCount"] == len(got)


@pytest.mark.parametrize("role", ROLES)
def test_entities(flavour: Flavour, role: str) -> None:
    d = flavour.data
    representations: list[dict[str, Any]] = []
    expected: list[dict[str, Any] | None] = []
    for type_name, key, ids in ENTITIES:
        for owner in ("a", "b"):
            value = getattr(d, ids)[owner]
            representations.append({"__typename": type_name, key: value})
            expected.append({key: value} if owner in REACH[role] else None)
    for owner in ("a", "b"):
        for dc in (d.dcs[f"{owner}0"], d.dcs[f"{owner}1"]):
            representations.append({"__typename": "DataCollection", "dataCollectionId": dc})
            expected.append({"dataCollectionId": dc} if owner in REACH[role] else None)
    fragments = " ".join(f"... on {t} {{ {k} }}" for t, k, _ in [*ENTITIES, ("DataCollection", "dataCollectionId", "")])
    query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ {fragments} }} }}"
    answer = gql(flavour, role, query, {"r": representations})
    assert answer["data"]["_entities"] == expected, (role, answer)


def test_entities_of_a_proposal(flavour: Flavour) -> None:
    d = flavour.data
    admin = gql(
        flavour, "admin", "query($p: String!) { proposal(proposal: $p) { proposalId } }", {"p": d.proposals["a"]}
    )
    pid = admin["data"]["proposal"]["proposalId"]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Proposal { proposalId proposal } } }"
    for role in ROLES:
        answer = gql(flavour, role, query, {"r": [{"__typename": "Proposal", "proposalId": pid}]})
        want = [{"proposalId": pid, "proposal": d.proposals["a"]}] if "a" in REACH[role] else [None]
        assert answer["data"]["_entities"] == want, (role, answer)


@pytest.mark.parametrize(
    "representation",
    [
        {"__typename": "Session", "sessionId": "abc"},
        {"__typename": "Session", "sessionId": 2**64},
        {"__typename": "Session", "sessionId": True},
        {"__typename": "Session", "sessionId": -1},
        {"__typename": "Session", "sessionId": None},
        {"__typename": "Session", "sessionId": {"$gt": 0}},
        {"__typename": "Session", "sessionId": "1" * 100_000},
        {"__typename": "Session"},
        {"__typename": "Session", "sessionId": 1, "extra": 1},
        {"__typename": "Nothing", "sessionId": 1},
        {"__typename": "PageInfo", "hasNextPage": True},
    ],
)
def test_hostile_representations(flavour: Flavour, representation: dict[str, Any]) -> None:
    """An unusable representation is an error at its place, never a 500 and never data."""
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sessionId } } }"
    answer = gql(flavour, "admin", query, {"r": [representation]})
    assert answer["errors"], answer
    assert not (answer.get("data") or {}).get("_entities") or answer["data"]["_entities"] == [None], answer


def test_service_sdl(flavour: Flavour) -> None:
    sdl = gql(flavour, "nobody", "{ _service { sdl } }")["data"]["_service"]["sdl"]
    for key in ("proposalId", "sessionId", "dataCollectionId", "blSampleId", "shippingId", "dewarId", "containerId"):
        assert f'@key(fields: "{key}")' in sdl, key
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    assert "type PageInfo @shareable" in sdl  # every Relay subgraph has one: composition needs it shareable


async def _hidden_session(db: AsyncSession, proposal_id: int) -> tuple[int, int]:
    """A session of proposal a on beamline B (staff of A may not see it), with a collection; their ids."""
    session = BLSession(proposalId=proposal_id, beamLineName=BEAMLINE_B, visit_number=2,
                        startDate=datetime(2024, 4, 1, 8), endDate=datetime(2024, 4, 2, 8))  # fmt: skip
    db.add(session)
    await db.flush()
    group = DataCollectionGroup(sessionId=session.sessionId, experimentType="OSC")
    db.add(group)
    await db.flush()
    dc = DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, sessionId=session.sessionId)
    db.add(dc)
    await db.flush()
    return session.sessionId, dc.dataCollectionId


async def _join_session(db: AsyncSession, session_id: int, person_id: int) -> None:
    db.add(SessionHasPerson(sessionId=session_id, personId=person_id, role="Co-Investigator"))
    await db.flush()


NESTED = """query($p: String!) { proposal(proposal: $p) { proposalId
  sessions(first: 100) { totalCount edges { node { sessionId
    dataCollections { edges { node { dataCollectionId } } } } } }
  shippings { totalCount edges { node { shippingId } } } } }"""


def test_nested_edges_hold_only_what_is_reached(flavour: Flavour) -> None:
    """Staff of beamline A reach proposal a through its session there: its session on beamline B stays hidden in
    Proposal.sessions, as the session and its collection do at the root and through _entities. A scientist added
    to one session of a proposal sees that session of it and no other."""
    d = flavour.data
    admin = gql(flavour, "admin", NESTED, {"p": d.proposals["a"]})["data"]["proposal"]
    hidden, hidden_dc = flavour.run(_hidden_session, admin["proposalId"])
    full = gql(flavour, "admin", NESTED, {"p": d.proposals["a"]})["data"]["proposal"]
    assert {e["node"]["sessionId"] for e in full["sessions"]["edges"]} == {d.sessions["a"], hidden}
    staff = gql(flavour, "staff", NESTED, {"p": d.proposals["a"]})["data"]["proposal"]
    assert staff["sessions"]["totalCount"] == 1
    assert [e["node"]["sessionId"] for e in staff["sessions"]["edges"]] == [d.sessions["a"]]
    collections = staff["sessions"]["edges"][0]["node"]["dataCollections"]["edges"]
    assert {e["node"]["dataCollectionId"] for e in collections} == {d.dcs["a0"], d.dcs["a1"]}
    for query, variables in (
        ("query($v: Int!) { session(sessionId: $v) { sessionId } }", {"v": hidden}),
        ("query($v: Int!) { dataCollection(dataCollectionId: $v) { dataCollectionId } }", {"v": hidden_dc}),
        ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sessionId } } }",
         {"r": [{"__typename": "Session", "sessionId": hidden}]}),
    ):  # fmt: skip
        answer = gql(flavour, "staff", query, variables)
        assert list(answer["data"].values()) in ([None], [[None]]), answer
    flavour.run(_join_session, d.sessions["a"], d.persons["sci_b"])
    sci_b = gql(flavour, "sci_b", NESTED, {"p": d.proposals["a"]})["data"]["proposal"]
    assert [e["node"]["sessionId"] for e in sci_b["sessions"]["edges"]] == [d.sessions["a"]]
    own = gql(flavour, "sci_b", NESTED, {"p": d.proposals["b"]})["data"]["proposal"]["sessions"]
    assert [e["node"]["sessionId"] for e in own["edges"]] == [d.sessions["b"]]
