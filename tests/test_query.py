"""Safe ad-hoc queries: refused operators at any depth, allowed ones working, a scope no pipeline escapes."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import ExecutionTimeout

from tests.conftest import Flavour
from tests.test_shipping import Caller, uid

REFUSED = ["$where", "$function", "$accumulator", "$out", "$merge", "$foo"]


def nest(operator: str, where: str) -> tuple[str, dict[str, Any]]:
    """A request hiding ``operator`` at ``where``; (route, body)."""
    bad = {operator: "x"}
    bodies: dict[str, tuple[str, dict[str, Any]]] = {
        "filter": ("find", {"filter": {"$and": [{"a": 1}, {"$or": [{"b": bad}]}]}}),
        "match": ("aggregate", {"pipeline": [{"$match": {"$and": [{"$or": [bad]}]}}]}),
        "group": ("aggregate", {"pipeline": [{"$group": {"_id": None, "n": bad}}]}),
        "facet": ("aggregate", {"pipeline": [{"$facet": {"f": [{"$match": {"$nor": [bad]}}]}}]}),
        "lookup": (
            "aggregate",
            {"pipeline": [{"$lookup": {"from": "results", "as": "r", "pipeline": [{"$match": bad}]}}]},
        ),
        "union": ("aggregate", {"pipeline": [{"$unionWith": {"coll": "metrics", "pipeline": [{"$project": bad}]}}]}),
        "stage": ("aggregate", {"pipeline": [{"$match": {}}, {operator: {}}]}),
    }
    route, body = bodies[where]
    return route, body | {"collection": "metrics"}


@pytest.mark.parametrize("where", ["filter", "match", "group", "facet", "lookup", "union", "stage"])
@pytest.mark.parametrize("operator", REFUSED)
def test_refused_operators_at_any_depth(flavour: Flavour, operator: str, where: str) -> None:
    route, body = nest(operator, where)
    problem = Caller(flavour, "sci_a")("POST", f"/query/{route}", 422, json=body)
    assert f"`{operator}`" in problem["detail"] and "(at $." in problem["detail"]


@pytest.mark.parametrize("collection", ["kinds", "system.users", "Person"])
def test_other_collections_cannot_be_read(flavour: Flavour, collection: str) -> None:
    sci = Caller(flavour, "sci_a")
    sci("POST", "/query/find", 422, json={"collection": collection})
    lookup = {"$lookup": {"from": collection, "localField": "a", "foreignField": "b", "as": "x"}}
    sci("POST", "/query/aggregate", 422, json={"collection": "metrics", "pipeline": [lookup]})
    graph = {
        "$graphLookup": {
            "from": collection,
            "startWith": "$a",
            "connectFromField": "a",
            "connectToField": "b",
            "as": "x",
        }
    }
    sci("POST", "/query/aggregate", 422, json={"collection": "metrics", "pipeline": [graph]})


@pytest.fixture
def two_proposals(flavour: Flavour) -> str:
    """A metric kind with documents in proposal A and in proposal B."""
    kind = f"q.k{uid().lower()}"
    for role, key in (("sci_a", "a0"), ("sci_b", "b0")):
        dc = flavour.data.dcs[key]
        lines = "\n".join(json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"v": i}}) for i in range(5))
        Caller(flavour, role)("POST", "/metrics/bulk", 200, content=lines)
    return kind


def test_allowed_queries_work(flavour: Flavour, two_proposals: str) -> None:
    sci = Caller(flavour, "sci_a")
    kind = two_proposals
    found = sci(
        "POST",
        "/query/find",
        200,
        json={
            "collection": "metrics",
            "filter": {"kind": kind, "values.v": {"$gte": 3}},
            "projection": {"_id": 0, "values": 1},
            "sort": {"values.v": -1},
        },
    )
    assert found == [{"values": {"v": 4}}, {"values": {"v": 3}}]
    pipeline = [
        {"$match": {"kind": kind}},
        {"$group": {"_id": "$kind", "n": {"$sum": 1}, "top": {"$max": "$values.v"}}},
        {"$facet": {"all": [{"$project": {"_id": 0, "n": 1, "top": 1}}]}},
    ]
    assert sci("POST", "/query/aggregate", 200, json={"collection": "metrics", "pipeline": pipeline}) == [
        {"all": [{"n": 5, "top": 4}]}
    ]
    rows = sci(
        "POST",
        "/query/find?format=csv",
        200,
        json={"collection": "metrics", "filter": {"kind": kind}, "projection": {"_id": 0, "kind": 1, "values": 1}},
    )
    table = list(csv.reader(io.StringIO(rows.text)))
    assert table[0] == ["kind", "values", "_other"] and len(table) == 6
    lines = sci("POST", "/query/find?format=ndjson", 200, json={"collection": "metrics", "filter": {"kind": kind}})
    assert len(lines.text.splitlines()) == 5


@pytest.mark.parametrize(
    "pipeline",
    [
        [{"$project": {"proposalId": 0}}, {"$match": {}}],
        [{"$match": {"proposalId": {"$exists": True}}}],
        [{"$unionWith": {"coll": "metrics", "pipeline": [{"$match": {}}]}}],
        [
            {"$limit": 1},
            {"$lookup": {"from": "metrics", "pipeline": [{"$match": {}}], "as": "all"}},
            {"$unwind": "$all"},
            {"$replaceRoot": {"newRoot": "$all"}},
        ],
        [
            {"$facet": {"everything": [{"$match": {}}]}},
            {"$unwind": "$everything"},
            {"$replaceRoot": {"newRoot": "$everything"}},
        ],
    ],
)
def test_scope_cannot_be_escaped(flavour: Flavour, two_proposals: str, pipeline: list[dict[str, Any]]) -> None:
    mine = Caller(flavour, "sci_b")("GET", f"/proposals/{flavour.data.proposals['b']}", 200)["proposalId"]
    docs = Caller(flavour, "sci_b")(
        "POST", "/query/aggregate", 200, json={"collection": "metrics", "pipeline": pipeline}
    )
    b_collections = {flavour.data.dcs["b0"], flavour.data.dcs["b1"]}
    assert docs and all(d.get("proposalId", mine) == mine and d["dataCollectionId"] in b_collections for d in docs)


def test_staff_with_all_proposals_see_both(flavour: Flavour, two_proposals: str) -> None:
    body = {"collection": "metrics", "filter": {"kind": two_proposals}}
    assert len(Caller(flavour, "admin")("POST", "/query/find", 200, json=body)) == 10
    assert len(Caller(flavour, "staff")("POST", "/query/find", 200, json=body)) == 5  # beamline tb01: proposal A


def test_cli_query(flavour: Flavour, two_proposals: str, mongo_url: str, tmp_path: Path) -> None:
    spec = tmp_path / "q.json"
    spec.write_text(
        json.dumps({"collection": "metrics", "pipeline": [{"$match": {"kind": two_proposals}}, {"$count": "n"}]})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": flavour.url,
        "ISPYB_MONGO_URL": mongo_url,
        "ISPYB_MONGO_DB": flavour.settings.mongo_db,
    }
    cli = [str(Path(sys.executable).parent / "ispyb-hybrid"), "query", str(spec), "--login", f"sci_a_{flavour.name}"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout) == [{"n": 5}], done.stdout + done.stderr
    spec.write_text(json.dumps({"collection": "metrics", "pipeline": [{"$out": "stolen"}]}))
    refused = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "$out" in refused.stdout
    spec.write_text('{"collection": "metrics", "filter": ' + "[" * 5_000 + "]" * 5_000 + "}")
    deep = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert deep.returncode == 1 and "deeper than" in deep.stdout and "Traceback" not in deep.stderr


@pytest.mark.parametrize(
    ("route", "spec"),
    [
        ("find", {"sort": {"": 1}}),
        ("find", {"filter": {"a\u0000b": 1}}),
        ("find", {"filter": {"values.v": 2**70}}),
        ("find", {"filter": {"$expr": {"$add": [1, "$$nope"]}}}),
    ],
)
def test_queries_the_server_refuses_are_a_422(flavour: Flavour, route: str, spec: dict[str, Any]) -> None:
    problem = Caller(flavour, "sci_a")("POST", f"/query/{route}", 422, json={"collection": "metrics"} | spec)
    assert "document store" in problem["detail"]
    Caller(flavour, "sci_a")("POST", "/query/find", 422, json={"collection": "metrics", "sort": {"kind": 0}})


def test_a_query_over_its_time_limit_is_a_504(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store stopping a query at ISPYB_QUERY_MAX_TIME_MS answers 504 like every document query over its limit
    (not the 422 of a query it refuses)."""

    async def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise ExecutionTimeout("operation exceeded time limit", 50)

    monkeypatch.setattr(AsyncCursor, "next", too_slow)
    monkeypatch.setattr(AsyncCollection, "aggregate", too_slow)
    sci = Caller(flavour, "sci_a")
    bodies: dict[str, dict[str, Any]] = {"find": {}, "aggregate": {"pipeline": []}}
    for route, body in bodies.items():
        problem = sci("POST", f"/query/{route}", 504, json={"collection": "metrics"} | body)
        assert problem["title"] == "Document store too slow"


def test_csv_keeps_every_key_and_numbers(flavour: Flavour, two_proposals: str) -> None:
    """Keys missing from the first document go, as JSON, in the last column ``_other`` (they were dropped); a
    Decimal128 is written as a number (it was text behind a formula-neutralising ``'``)."""
    late = {"$cond": [{"$gt": ["$values.v", 0]}, "$values.v", "$$REMOVE"]}
    project = {"_id": 0, "v": "$values.v", "d": {"$toDecimal": -2.5}, "late": late}
    pipeline = [{"$match": {"kind": two_proposals}}, {"$sort": {"values.v": 1}}, {"$project": project}]
    body = {"collection": "metrics", "pipeline": pipeline}
    text = Caller(flavour, "sci_a")("POST", "/query/aggregate?format=csv", 200, json=body).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["v", "d", "_other"] and len(table) == 6
    assert [[float(v), float(d)] for v, d, _ in table[1:]] == [[v, -2.5] for v in range(5)]
    others = [json.loads(other) if other else None for *_, other in table[1:]]
    assert others == [None] + [{"late": v} for v in range(1, 5)]
    assert "'" not in text and '"-2.5' not in text
