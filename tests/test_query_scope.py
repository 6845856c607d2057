"""The caller's scope holds in every read of a collection at any depth of an ad-hoc query: a generated family of
nested pipelines (every collection-reading stage in every position), checked on the stages a server would receive
and on the embedded server's answers against documents of two proposals; hostile shapes answer 422, never 500."""

import asyncio
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from itertools import product
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from app.main import create_app
from documents import query
from documents.query import COLLECTIONS, MAX_NESTING, scoped_pipeline
from schemas.errors import InvalidInput
from tests.conftest import Flavour, Flavours
from tests.test_results import result
from tests.test_shipping import Caller, proposal_id, uid

Stage = dict[str, Any]
ISSUE: list[Stage] = [
    {"$facet": {"a": [{"$unionWith": {"coll": "results"}}]}},
    {"$unwind": "$a"},
    {"$replaceWith": "$a"},
]
"""The payload of the issue: every proposal's results through ``$unionWith`` inside ``$facet``."""

WRAPPERS: dict[str, Callable[[list[Stage], str], Stage]] = {
    "facet": lambda inner, _coll: {"$facet": {"f": inner}},
    "lookup-pipeline": lambda inner, coll: {
        "$lookup": {"from": coll, "let": {"me": "$$ROOT"}, "pipeline": inner, "as": "j"}
    },
    "lookup-fields-pipeline": lambda inner, coll: {
        "$lookup": {"from": coll, "localField": "absent", "foreignField": "absent", "pipeline": inner, "as": "j"}
    },
    "unionWith-object": lambda inner, coll: {"$unionWith": {"coll": coll, "pipeline": inner}},
}
"""Stages holding a sub-pipeline of the client's (``absent`` fields: a missing local field joins every document)."""
LEAVES: dict[str, Callable[[str], Stage]] = {
    "unionWith-string": lambda coll: {"$unionWith": coll},
    "unionWith-bare": lambda coll: {"$unionWith": {"coll": coll}},
    "lookup-fields": lambda coll: {
        "$lookup": {"from": coll, "localField": "absent", "foreignField": "absent", "as": "j"}
    },
    "lookup-empty": lambda coll: {"$lookup": {"from": coll, "pipeline": [], "as": "j"}},
    "graphLookup": lambda coll: {
        "$graphLookup": {
            "from": coll,
            "startWith": "$kind",
            "connectFromField": "kind",
            "connectToField": "kind",
            "as": "g",
        }
    },
}
"""Stages reading a collection with no sub-pipeline of the client's."""
READING = ("$lookup", "$unionWith", "$graphLookup")


@dataclasses.dataclass(frozen=True)
class Case:
    collection: str
    chain: tuple[str, ...]
    leaf: str
    leaf_collection: str
    pipeline: list[Stage]

    @property
    def refused(self) -> bool:
        """Refused by design: a ``$graphLookup``, or a ``$facet`` right inside a ``$facet`` (MongoDB's rule)."""
        return self.leaf == "graphLookup" or "facet/facet" in "/".join(self.chain)

    def __str__(self) -> str:
        return f"{self.collection}/{'/'.join(self.chain)}/{self.leaf}:{self.leaf_collection}"


def family(depth: int, rotations: range = range(1)) -> Iterator[Case]:
    """Every chain of ``depth`` wrappers ending in every leaf, the collections read rotating with the case."""
    for n, (chain, leaf) in enumerate(product(product(WRAPPERS, repeat=depth), LEAVES)):
        for r in rotations:
            colls = [COLLECTIONS[(n + r + i) % len(COLLECTIONS)] for i in range(depth + 2)]
            pipeline = [LEAVES[leaf](colls[-1])]
            for name, coll in zip(reversed(chain), reversed(colls[1:-1]), strict=True):
                pipeline = [WRAPPERS[name](pipeline, coll)]
            yield Case(colls[0], chain, leaf, colls[-1], pipeline)


def reads(value: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """(path, stage, body) of every collection-reading stage anywhere in ``value``, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in READING:
                yield f"{path}.{key}", key, item
            yield from reads(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from reads(item, f"{path}[{i}]")


def unscoped(stages: list[Stage], scope: dict[str, Any]) -> list[str]:
    """Paths of the reads in ``stages`` (as sent to the server) whose pipeline does not start with the scope."""
    first = {"$match": scope}
    bad = [] if stages[:1] == [first] else ["$"]
    for path, stage, body in reads(stages):
        pipeline = body.get("pipeline") if isinstance(body, dict) else None
        if stage == "$graphLookup" or not isinstance(pipeline, list) or pipeline[:1] != [first]:
            bad.append(path)
    return bad


SCOPE = {"proposalId": {"$in": [7, 9]}}


def without(value: Any, stage: Stage) -> Any:
    """``value`` with every occurrence of ``stage`` in a list taken out, at any depth."""
    if isinstance(value, dict):
        return {k: without(v, stage) for k, v in value.items()}
    if isinstance(value, list):
        return [without(v, stage) for v in value if v != stage]
    return value


class Recorder:
    """A stand-in database for ``documents.query.aggregate``: keeps the stages it would send to a server."""

    def __init__(self) -> None:
        self.sent: list[list[Stage]] = []

    def __getitem__(self, collection: str) -> "Recorder":
        return self

    async def aggregate(self, stages: list[Stage], **options: Any) -> "Recorder":
        self.sent.append(stages)
        return self

    def __aiter__(self) -> "Recorder":
        return self

    async def __anext__(self) -> Stage:
        raise StopAsyncIteration


async def sent(case: Case, scope: dict[str, Any]) -> list[Stage]:
    """The stages ``documents.query.aggregate`` sends for ``case``: what a MongoDB server would receive."""
    db = Recorder()
    await query.aggregate(db, case.collection, case.pipeline, scope, 1000, 10)  # type: ignore[arg-type]
    return db.sent[0]


def test_every_read_at_every_depth_starts_with_the_scope() -> None:
    """The guarantee on the stages a server receives, whatever it does with them (depths 1-4, all rotations)."""
    cases = [c for depth in range(1, 5) for c in family(depth, range(len(COLLECTIONS)))]
    cases.append(Case("results", (), "issue", "results", ISSUE))
    assert len(cases) == 3 * 5 * (4 + 16 + 64 + 256) + 1

    async def check() -> None:
        for case in cases:
            try:
                stages = await sent(case, SCOPE)
            except InvalidInput as exc:
                assert case.refused and "(at $.pipeline[0]" in str(exc), f"{case}: {exc}"
                continue
            assert not case.refused, case
            assert unscoped(stages, SCOPE) == [] and stages[-1] == {"$limit": 10}, case
            assert len(list(reads(stages))) == len(list(reads(case.pipeline))), case
            assert without(stages, {"$match": SCOPE}) == await sent(case, {}), case  # the scope is all it adds

    asyncio.run(check())


def test_all_proposals_get_no_scope() -> None:
    """Staff with ``all_proposals`` have an empty scope: no filter is added anywhere."""
    for case in family(3):
        if not case.refused:
            stages = scoped_pipeline(case.pipeline, {})
            assert "proposalId" not in json.dumps(stages) and "$match" not in json.dumps(stages), case


@dataclasses.dataclass
class World:
    """A document store of its own holding results, metrics and rollups of proposals A and B."""

    sci_a: Caller
    admin: Caller
    proposal_a: int
    proposal_b: int
    ids: dict[tuple[str, int], set[str]]  # (collection, proposalId) → document ids

    def b_ids(self) -> set[str]:
        return set().union(*(ids for (_, p), ids in self.ids.items() if p == self.proposal_b))


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every object anywhere in ``value``."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def assert_no_leak(world: World, output: Any) -> set[str]:
    """No document of proposal B anywhere in ``output``; the ids of proposal A's documents in it."""
    objects = list(walk(output))
    assert {o["proposalId"] for o in objects if "proposalId" in o} <= {world.proposal_a}
    found = {o["_id"] for o in objects if isinstance(o.get("_id"), str)}
    assert found & world.b_ids() == set()
    return found


@contextmanager
def _made(flavour: Flavour, mongo_url: str) -> Iterator[World]:
    """Documents of both proposals on a document database of their own, served by an app of their own."""
    settings = flavour.settings.model_copy(update={"mongo_db": f"{flavour.database}_scope"})
    with TestClient(create_app(settings)) as client:
        f = dataclasses.replace(flavour, client=client, settings=settings)
        for role, key in (("sci_a", "a0"), ("sci_b", "b0")):
            dc = f.data.dcs[key]
            values = ({"imageNumber": i, "estimatedResolution": 2.5 + i, "defocusU": 1e4} for i in range(2))
            lines = "\n".join(json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": v}) for v in values)
            Caller(f, role)("POST", "/metrics/bulk", 200, content=lines)
            Caller(f, role)("POST", "/results", 201, json=result([dc], f"xia2-{uid()}"))
        admin = Caller(f, "admin")
        ids: dict[tuple[str, int], set[str]] = {}
        for coll in COLLECTIONS:
            for doc in admin("POST", "/query/find", 200, json={"collection": coll}):
                ids.setdefault((coll, doc["proposalId"]), set()).add(doc["_id"])
        world = World(Caller(f, "sci_a"), admin, proposal_id(f, "a"), proposal_id(f, "b"), ids)
        assert set(ids) == {(c, p) for c in COLLECTIONS for p in (world.proposal_a, world.proposal_b)}
        yield world
    with MongoClient[dict[str, Any]](mongo_url) as mongo:
        mongo.drop_database(settings.mongo_db)


@pytest.fixture(scope="module")
def worlds(flavours: Flavours, mongo_url: str) -> Iterator[Callable[[str], World]]:
    """Each flavour's world, made on first use and kept for the module (its tests may come in any order)."""
    made: dict[str, World] = {}
    with ExitStack() as stack:

        def get(name: str) -> World:
            if name not in made:
                made[name] = stack.enter_context(_made(flavours.get(name, commits=False), mongo_url))
            return made[name]

        yield get


@pytest.fixture
def world(flavour: Flavour, worlds: Callable[[str], World]) -> World:
    return worlds(flavour.name)


@pytest.mark.parametrize("case", list(family(3)), ids=str)
def test_no_nested_read_returns_another_proposal(world: World, case: Case) -> None:
    """On the embedded server: refused with its path, or only proposal A's documents, the leaf's among them."""
    body = {"collection": case.collection, "pipeline": case.pipeline}
    if case.refused:
        problem = world.sci_a("POST", "/query/aggregate", 422, json=body)
        assert "(at $.pipeline[0]" in problem["detail"]
        return
    found = assert_no_leak(world, world.sci_a("POST", "/query/aggregate", 200, json=body))
    assert found & world.ids[(case.leaf_collection, world.proposal_a)], "the leaf's own documents came back"


def test_the_issue_payload(world: World) -> None:
    body = {"collection": "results", "pipeline": ISSUE}
    found = assert_no_leak(world, world.sci_a("POST", "/query/aggregate", 200, json=body))
    assert found == world.ids[("results", world.proposal_a)]
    every = set().union(*(ids for (coll, _), ids in world.ids.items() if coll == "results"))
    assert len(world.admin("POST", "/query/aggregate", 200, json=body)) == 2 * len(every)  # what a leak returns


ROOT_TRICKS = [
    [{"$match": {"$expr": {"$ne": ["$$ROOT", None]}}}],
    [{"$lookup": {"from": "metrics", "let": {"r": "$$ROOT"}, "pipeline": [{"$replaceWith": "$$r"}], "as": "x"}}],
    [
        {
            "$lookup": {
                "from": "rollups",
                "let": {"p": "$proposalId"},
                "pipeline": [{"$match": {"$expr": {"$ne": ["$proposalId", "$$p"]}}}],
                "as": "x",
            }
        }
    ],
    [
        {"$project": {"proposalId": 0}},
        {"$unionWith": {"coll": "metrics", "pipeline": [{"$project": {"proposalId": 0}}]}},
    ],
]


@pytest.mark.parametrize("pipeline", ROOT_TRICKS)
def test_variables_and_projections_do_not_widen_the_scope(world: World, pipeline: list[Stage]) -> None:
    assert_no_leak(
        world, world.sci_a("POST", "/query/aggregate", 200, json={"collection": "results", "pipeline": pipeline})
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"filter": {"$or": [{"proposalId": {"$exists": True}}, {}]}},
        {"filter": {"$expr": {"$ne": ["$$ROOT.proposalId", 0]}}, "projection": {"proposalId": 0}},
        {"filter": {"proposalId": {"$nin": []}}, "projection": {"_id": 1}},
    ],
)
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_find_tricks_stay_in_scope(world: World, collection: str, spec: dict[str, Any]) -> None:
    docs = world.sci_a("POST", "/query/find", 200, json={"collection": collection} | spec)
    assert {d["_id"] for d in docs} == world.ids[(collection, world.proposal_a)]


def nested(levels: int, wrap: Callable[[list[Stage]], Stage]) -> list[Stage]:
    pipeline: list[Stage] = [{"$match": {}}]
    for _ in range(levels):
        pipeline = [wrap(pipeline)]
    return pipeline


def lookup(inner: list[Stage]) -> Stage:
    return {"$lookup": {"from": "results", "pipeline": [{"$limit": 1}, *inner], "as": "x"}}


def facet_lookup(inner: list[Stage]) -> Stage:
    return {"$facet": {"f": [lookup(inner)]}}


DEEP: list[tuple[str, list[Any], str]] = [
    ("100 $facet", nested(100, lambda p: {"$facet": {"f": p}}), "`$facet` is not allowed inside a `$facet`"),
    ("100 $lookup", nested(100, lookup), "nested deeper than 10"),
    ("50 $facet/$lookup", nested(50, facet_lookup), "nested deeper than 10"),
    ("250 $lookup", nested(250, lookup), "nested deeper than 10"),
]
"""Deeper than a JSON body may be (the service refuses those at the edge), but not than a query file of the CLI."""


@pytest.mark.parametrize(("pipeline", "says"), [d[1:] for d in DEEP], ids=[d[0] for d in DEEP])
def test_deep_nesting_is_refused_before_any_recursion(flavour: Flavour, pipeline: list[Any], says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)):
        scoped_pipeline(pipeline, SCOPE)
    Caller(flavour, "sci_a")("POST", "/query/aggregate", 422, json={"collection": "results", "pipeline": pipeline})


HOSTILE: list[tuple[str, list[Any], str]] = [
    ("11 $lookup", nested(MAX_NESTING + 1, lookup), "nested deeper than 10"),
    ("1001 stages", [{"$facet": {f"f{i}": [{"$match": {}}] * 10 for i in range(100)}}], "at most 1000 stages"),
    ("filter 60 deep", [{"$match": json.loads('{"$and": [' * 60 + "{}" + "]}" * 60)}], "Nested deeper than 50"),
    ("from int", [{"$lookup": {"from": 5, "pipeline": [], "as": "x"}}], "$.pipeline[0].$lookup"),
    ("from object", [{"$lookup": {"from": {"db": "x", "coll": "results"}, "as": "x"}}], "$.pipeline[0].$lookup"),
    ("from list", [{"$lookup": {"from": ["results"], "pipeline": [], "as": "x"}}], "$.pipeline[0].$lookup"),
    ("from omitted", [{"$lookup": {"pipeline": [{"$documents": [{"a": 1}]}], "as": "x"}}], "$.pipeline[0].$lookup"),
    ("$documents", [{"$documents": [{"proposalId": 1}]}], "`$documents` is not allowed"),
    ("coll omitted", [{"$unionWith": {"pipeline": [{"$documents": [{}]}]}}], "$.pipeline[0].$unionWith"),
    (
        "kinds in $facet in $lookup",
        [{"$lookup": {"from": "results", "pipeline": [{"$facet": {"f": [{"$unionWith": "kinds"}]}}], "as": "x"}}],
        "$.pipeline[0].$lookup.pipeline[0].$facet.f[0].$unionWith",
    ),
    ("unknown field", [{"$lookup": {"from": "results", "pipeline": [], "as": "x", "into": "y"}}], "`into`"),
    ("restrict", [{"$unionWith": {"coll": "results", "restrictSearchWithMatch": {}}}], "`restrictSearchWithMatch`"),
    ("graphLookup in $facet", [{"$facet": {"g": [LEAVES["graphLookup"]("results")]}}], "$graphLookup"),
    ("$facet body", [{"$facet": [{"$match": {}}]}], "must be an object of pipelines"),
    ("sub-pipeline", [{"$facet": {"f": {"$match": {}}}}], "must be a list of stages"),
    ("lookup pipeline", [{"$lookup": {"from": "results", "pipeline": None, "as": "x"}}], "must be a list of stages"),
    ("two stages", [{"$match": {}, "$unionWith": "results"}], "exactly one stage"),
    ("not a stage", [["$unionWith", "results"]], "exactly one stage"),
    ("union body", [{"$unionWith": 5}], "must be an object"),
]


@pytest.mark.parametrize(("pipeline", "says"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_pipelines_are_a_422(flavour: Flavour, pipeline: list[Any], says: str) -> None:
    problem = Caller(flavour, "sci_a")(
        "POST", "/query/aggregate", 422, json={"collection": "results", "pipeline": pipeline}
    )
    assert says in problem["detail"] and "$.pipeline" in problem["detail"], problem["detail"]


def test_nesting_up_to_the_limit_works(world: World) -> None:
    body = {"collection": "results", "pipeline": nested(MAX_NESTING, lookup)}
    assert_no_leak(world, world.sci_a("POST", "/query/aggregate", 200, json=body))
