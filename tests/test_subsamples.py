"""Sub samples, components and concentration units in py-ispyb's shapes (pyispyb/core/schemas/samples.py, its
ssx-samples branch's Component and ConcentrationType; the UI's src/models), scoped, on both flavours."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests import factories
from tests.conftest import Flavour
from tests.test_shipping import Caller, proposal_id, uid


async def _subsamples(db: AsyncSession, sample_a: int, sample_b: int, dc_group: int, session: int) -> dict[str, int]:
    """Two sub samples of sample a (one with both positions and a data collection), one of sample b."""
    p1 = await factories.insert(db, "INSERT INTO Position (posX, posY) VALUES (10, 20)")
    p2 = await factories.insert(db, "INSERT INTO Position (posX, posY) VALUES (30, 40)")
    sql = "INSERT INTO BLSubSample (blSampleId, positionId, position2Id, comments) VALUES (:s, :p1, :p2, :c)"
    region = await factories.insert(db, sql, s=sample_a, p1=p1, p2=p2, c="a region")
    point = await factories.insert(db, sql, s=sample_a, p1=p1, p2=None, c=None)
    other = await factories.insert(db, sql, s=sample_b, p1=None, p2=None, c="b's")
    await factories.insert(
        db,
        "INSERT INTO DataCollection (dataCollectionGroupId, blSubSampleId, SESSIONID) VALUES (:g, :sub, :s)",
        g=dc_group,
        sub=region,
        s=session,
    )
    return {"region": region, "point": point, "other": other}


def _expected(f: Flavour, ids: dict[str, int]) -> dict[str, Any]:
    base = {"type": None, "BLSample": {"name": "sample-a"}, "blSampleId": f.data.samples["a"]}
    region = base | {
        "blSubSampleId": ids["region"],
        "comments": "a region",
        "Position1": {"posX": 10.0, "posY": 20.0},
        "Position2": {"posX": 30.0, "posY": 40.0},
        "_metadata": {"datacollections": 1, "types": ["OSC"]},
    }
    point = base | {
        "blSubSampleId": ids["point"],
        "comments": None,
        "Position1": {"posX": 10.0, "posY": 20.0},
        "Position2": None,
        "_metadata": {"datacollections": 0, "types": []},
    }
    return {"region": region, "point": point}


def test_sub_samples_in_py_ispyb_shape_and_scoped(flavour: Flavour) -> None:
    d = flavour.data
    ids = flavour.run(_subsamples, d.samples["a"], d.samples["b"], d.groups["a"], d.sessions["a"])
    sci_a, sci_b = Caller(flavour, "sci_a"), Caller(flavour, "sci_b")
    page = sci_a("GET", "/samples/sub", 200, params={"blSampleId": d.samples["a"]})
    for row in page["results"]:
        assert row.pop("recordTimeStamp") is not None
    expected = _expected(flavour, ids)
    assert page == {"total": 2, "skip": 0, "limit": 25, "results": [expected["point"], expected["region"]]}
    one = sci_a("GET", f"/samples/sub/{ids['region']}", 200)
    assert {k: v for k, v in one.items() if k != "recordTimeStamp"} == expected["region"]
    mine = sci_a("GET", "/samples/sub", 200, params={"limit": 1000})["results"]
    assert ids["other"] not in {r["blSubSampleId"] for r in mine}
    for params in ({"proposal": d.proposals["a"]}, {"containerId": d.containers["a"]}, {"proteinId": d.proteins["a"]}):
        found = sci_a("GET", "/samples/sub", 200, params=params | {"limit": 1000})["results"]
        assert {r["blSubSampleId"] for r in found} >= {ids["region"], ids["point"]}
        assert ids["other"] not in {r["blSubSampleId"] for r in found}
    # out of reach: absent from every list, 404 alone
    sci_a("GET", f"/samples/sub/{ids['other']}", 404)
    assert sci_b("GET", "/samples/sub", 200, params={"blSampleId": d.samples["a"]})["total"] == 0
    assert sci_b("GET", "/samples/sub", 200, params={"proposal": d.proposals["a"]})["total"] == 0
    sci_b("GET", f"/samples/sub/{ids['region']}", 404)
    Caller(flavour, "nobody")("GET", f"/samples/sub/{ids['point']}", 404)
    assert Caller(flavour, "admin")("GET", f"/samples/sub/{ids['other']}", 200)["BLSample"] == {"name": "sample-b"}


async def _components(db: AsyncSession, proposal_a: int, proposal_b: int, tag: str) -> dict[str, int]:
    kind = await factories.insert(db, "INSERT INTO ComponentType (name) VALUES (:n)", n=f"kind-{tag}")
    sql = "INSERT INTO Component (componentTypeId, proposalId, name, composition) VALUES (:t, :p, :n, :c)"
    return {
        "kind": kind,
        "peg": await factories.insert(db, sql, t=kind, p=proposal_a, n=f"PEG-{tag}", c="C2H4O"),
        "salt": await factories.insert(db, sql, t=kind, p=proposal_a, n=f"NaCl-{tag}", c=None),
        "theirs": await factories.insert(db, sql, t=kind, p=proposal_b, n=f"Tris-{tag}", c=None),
        "nobodys": await factories.insert(db, sql, t=kind, p=None, n=f"Water-{tag}", c=None),
    }


def test_components_of_the_callers_proposals(flavour: Flavour) -> None:
    tag = uid()
    ids = flavour.run(_components, proposal_id(flavour, "a"), proposal_id(flavour, "b"), tag)
    sci_a = Caller(flavour, "sci_a")
    kind = {"componentTypeId": ids["kind"], "name": f"kind-{tag}"}
    salt = {"componentId": ids["salt"], "name": f"NaCl-{tag}", "composition": None, "ComponentType": kind}
    peg = {"componentId": ids["peg"], "name": f"PEG-{tag}", "composition": "C2H4O", "ComponentType": kind}
    page = sci_a("GET", "/samples/components", 200, params={"proposal": flavour.data.proposals["a"], "limit": 1000})
    assert [c for c in page["results"] if c["ComponentType"] == kind] == [salt, peg]
    assert sci_a("GET", f"/samples/components/{ids['peg']}", 200) == peg
    every = sci_a("GET", "/samples/components", 200, params={"limit": 1000})["results"]
    assert {c["componentId"] for c in every} & {ids["theirs"], ids["nobodys"]} == set()
    for other in ("theirs", "nobodys"):
        sci_a("GET", f"/samples/components/{ids[other]}", 404)
    Caller(flavour, "sci_b")("GET", f"/samples/components/{ids['peg']}", 404)
    listed = Caller(flavour, "sci_b")("GET", "/samples/components", 200, params={"limit": 1000})["results"]
    assert [c["componentId"] for c in listed if c["ComponentType"] == kind] == [ids["theirs"]]


async def _units(db: AsyncSession, tag: str, dls: bool) -> dict[str, int]:
    sql = "INSERT INTO ConcentrationType (name, symbol) VALUES (:n, :s)"
    ids = {"molar": await factories.insert(db, sql, n=f"a-Molar {tag}", s="M")}
    if dls:
        sql = "INSERT INTO ConcentrationType (name, symbol, active) VALUES (:n, :s, 0)"
        ids["retired"] = await factories.insert(db, sql, n=f"a-Retired {tag}", s="R")
    return ids


@pytest.mark.parametrize("role", ["sci_a", "nobody"])
def test_concentration_types_a_plain_list_by_name(flavour: Flavour, role: str) -> None:
    """The facility's list, the same for every caller; Diamond's inactive units only by id."""
    tag = uid()
    ids = flavour.run(_units, tag, flavour.name == "dls")
    caller = Caller(flavour, role)
    units = caller("GET", "/samples/concentration/types", 200)
    molar = {"concentrationTypeId": ids["molar"], "name": f"a-Molar {tag}", "symbol": "M"}
    assert isinstance(units, list) and [u for u in units if tag in u["name"]] == [molar]
    assert units == sorted(units, key=lambda u: (u["name"].lower(), u["concentrationTypeId"]))
    assert caller("GET", f"/samples/concentration/types/{ids['molar']}", 200) == molar
    if "retired" in ids:
        retired = caller("GET", f"/samples/concentration/types/{ids['retired']}", 200)
        assert retired == {"concentrationTypeId": ids["retired"], "name": f"a-Retired {tag}", "symbol": "R"}
    caller("GET", "/samples/concentration/types/4294967295", 404)
