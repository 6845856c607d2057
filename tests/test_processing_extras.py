"""Processing programs' attachments and messages, screenings and per-image quality: py-ispyb's shapes, scoped,
paged, bad input refused, on both flavours."""

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from app.services import datacollections as services
from relational.flavour import SchemaInfo
from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramAttachment,
    AutoProcProgramMessage,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
)
from relational.models.analysis import (
    ImageQualityIndicators,
    Screening,
    ScreeningOutput,
    ScreeningOutputLattice,
    ScreeningStrategy,
    ScreeningStrategySubWedge,
    ScreeningStrategyWedge,
)
from relational.processings import auto_integrations_of
from relational.read_sessions import beside
from relational.scope import Scope
from tests.conftest import Flavour
from tests.factories import BEAMLINE_A, add_collection

API = "/ispyb/api/v1"


async def _program_of(db: AsyncSession, dc_id: int) -> int:
    query = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.dataCollectionId == dc_id)
    found = (await db.execute(query)).scalar_one()
    assert found is not None
    return found


async def _attachments(db: AsyncSession, program_id: int, directory: str, names: list[str]) -> list[int]:
    rows = [
        AutoProcProgramAttachment(autoProcProgramId=program_id, fileType="Log", fileName=n, filePath=directory)
        for n in names
    ]
    db.add_all(rows)
    await db.flush()
    return [r.autoProcProgramAttachmentId for r in rows]


async def _rank(db: AsyncSession, attachment_id: int, rank: int) -> None:
    query = "UPDATE AutoProcProgramAttachment SET importanceRank = :r WHERE autoProcProgramAttachmentId = :i"
    await db.execute(text(query), {"r": rank, "i": attachment_id})


def get(flavour: Flavour, path: str, role: str = "sci_a", **params: object) -> dict[str, Any]:
    r = flavour.client.get(f"{API}{path}", headers=flavour.token(role), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _program_files(flavour: Flavour, data_dir: Path) -> dict[str, Any]:
    (data_dir / "xia2.log").write_text("xia2 ran\n")
    a, b = (flavour.run(_program_of, flavour.data.dcs[k]) for k in ("a0", "b0"))
    on_a = flavour.run(_attachments, a, str(data_dir), ["xia2.log", "gone.log", "third.log"])
    on_b = flavour.run(_attachments, b, str(data_dir), ["xia2.log"])
    return {"a": a, "b": b, "on_a": on_a, "on_b": on_b}


def test_program_attachments_shape(flavour: Flavour, data_dir: Path) -> None:
    made = _program_files(flavour, data_dir)
    if flavour.name == "dls":
        flavour.run(_rank, made["on_a"][0], 7)
    body = get(flavour, "/processings/attachments", autoProcProgramId=made["a"])
    assert body["total"] == 3 and [r["fileName"] for r in body["results"]] == ["xia2.log", "gone.log", "third.log"]
    first = body["results"][0]
    # py-ispyb's AutoProcProgramAttachment, and the path and time beside
    assert set(first) == {
        "autoProcProgramAttachmentId", "autoProcProgramId", "fileName", "fileType", "importanceRank", "_metadata",
        "filePath", "recordTimeStamp",
    }  # fmt: skip
    assert first["importanceRank"] == (7 if flavour.name == "dls" else None)
    assert first["_metadata"] == {"url": f"{API}/processings/attachments/{made['on_a'][0]}"}
    assert first["fileType"] == "Log" and first["filePath"] == str(data_dir)
    one = get(flavour, "/processings/attachments", autoProcProgramAttachmentId=made["on_a"][1])
    assert [r["autoProcProgramAttachmentId"] for r in one["results"]] == [made["on_a"][1]]
    page = get(flavour, "/processings/attachments", autoProcProgramId=made["a"], skip=2, limit=2)
    assert page["total"] == 3 and [r["fileName"] for r in page["results"]] == ["third.log"]


@pytest.mark.parametrize(
    ("role", "sees_a", "sees_b"), [("sci_a", True, False), ("sci_b", False, True), ("nobody", False, False)]
)
def test_program_attachments_scoped(flavour: Flavour, data_dir: Path, role: str, sees_a: bool, sees_b: bool) -> None:
    made = _program_files(flavour, data_dir)
    listed = {
        r["autoProcProgramAttachmentId"] for r in get(flavour, "/processings/attachments", role, limit=1000)["results"]
    }
    assert listed & set(made["on_a"] + made["on_b"]) == set(made["on_a"] * sees_a + made["on_b"] * sees_b)
    assert get(flavour, "/processings/attachments", role, autoProcProgramId=made["a"])["total"] == 3 * sees_a
    for ids, sees in ((made["on_a"], sees_a), (made["on_b"], sees_b)):
        r = flavour.client.get(f"{API}/processings/attachments/{ids[0]}", headers=flavour.token(role))
        assert r.status_code == (200 if sees else 404)
        if sees:
            assert r.content == b"xia2 ran\n" and 'filename="xia2.log"' in r.headers["content-disposition"]


def test_program_attachment_missing_file(flavour: Flavour, data_dir: Path) -> None:
    made = _program_files(flavour, data_dir)
    r = flavour.client.get(f"{API}/processings/attachments/{made['on_a'][1]}", headers=flavour.token("sci_a"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def _messages(db: AsyncSession, program_id: int, count: int) -> list[int]:
    rows = [
        AutoProcProgramMessage(autoProcProgramId=program_id, severity="WARNING", message=f"m{i}", description="d")
        for i in range(count)
    ]
    db.add_all(rows)
    await db.flush()
    return [r.autoProcProgramMessageId for r in rows]


def test_messages(flavour: Flavour) -> None:
    a, b = (flavour.run(_program_of, flavour.data.dcs[k]) for k in ("a0", "b0"))
    if flavour.name == "official":  # no AutoProcProgramMessage table: an empty list
        assert get(flavour, "/processings/messages", autoProcProgramId=a) == {
            "total": 0, "results": [], "skip": 0, "limit": 25,
        }  # fmt: skip
        return
    on_a, on_b = flavour.run(_messages, a, 3), flavour.run(_messages, b, 1)
    body = get(flavour, "/processings/messages", autoProcProgramId=a, limit=2)
    assert body["total"] == 3 and [m["autoProcProgramMessageId"] for m in body["results"]] == on_a[:2]
    assert set(body["results"][0]) == {
        "autoProcProgramMessageId", "autoProcProgramId", "description", "message", "severity", "recordTimeStamp",
    }  # fmt: skip
    assert body["results"][0]["severity"] == "WARNING" and body["results"][0]["message"] == "m0"
    by_dc = get(flavour, "/processings/messages", dataCollectionId=flavour.data.dcs["a0"])
    assert [m["autoProcProgramMessageId"] for m in by_dc["results"]] == on_a
    assert get(flavour, "/processings/messages", "sci_b", autoProcProgramId=a)["total"] == 0
    mine = {m["autoProcProgramMessageId"] for m in get(flavour, "/processings/messages", "sci_b", limit=100)["results"]}
    assert mine & set(on_a + on_b) == set(on_b)


async def _screening(db: AsyncSession, dc_id: int | None, group_id: int | None) -> int:
    screening = Screening(dataCollectionId=dc_id, dataCollectionGroupId=group_id, programVersion="EDNA")
    db.add(screening)
    await db.flush()
    output = ScreeningOutput(screeningId=screening.screeningId, indexingSuccess=1, strategySuccess=0)
    db.add(output)
    await db.flush()
    strategy = ScreeningStrategy(screeningOutputId=output.screeningOutputId, rankingResolution=1.9)
    lattice = ScreeningOutputLattice(screeningOutputId=output.screeningOutputId, spaceGroup="P21", unitCell_a=40.0)
    db.add_all([strategy, lattice])
    await db.flush()
    wedge = ScreeningStrategyWedge(screeningStrategyId=strategy.screeningStrategyId, wedgeNumber=1, numberOfImages=90)
    db.add(wedge)
    await db.flush()
    db.add(
        ScreeningStrategySubWedge(
            screeningStrategyWedgeId=wedge.screeningStrategyWedgeId, subWedgeNumber=1, RESOLUTION=1.8, axisStart=0.0
        )
    )
    await db.flush()
    return screening.screeningId


def test_screenings(flavour: Flavour) -> None:
    by_dc = flavour.run(_screening, flavour.data.dcs["a0"], None)
    by_group = flavour.run(_screening, None, flavour.data.groups["a"])
    on_b = flavour.run(_screening, flavour.data.dcs["b0"], None)
    body = get(flavour, "/processings/screenings", dataCollectionId=flavour.data.dcs["a0"])
    assert body["total"] == 2 and [s["screeningId"] for s in body["results"]] == [by_dc, by_group]
    screening = body["results"][0]
    assert screening["programVersion"] == "EDNA" and len(screening["ScreeningOutput"]) == 1
    output = screening["ScreeningOutput"][0]
    assert (output["indexingSuccess"], output["strategySuccess"]) == (1, 0)
    assert [(lat["spaceGroup"], lat["unitCell_a"]) for lat in output["ScreeningOutputLattice"]] == [("P21", 40.0)]
    strategy = output["ScreeningStrategy"][0]
    assert strategy["rankingResolution"] == 1.9
    wedge = strategy["ScreeningStrategyWedge"][0]
    assert (wedge["wedgeNumber"], wedge["numberOfImages"]) == (1, 90)
    sub = wedge["ScreeningStrategySubWedge"][0]
    assert (sub["subWedgeNumber"], sub["RESOLUTION"], sub["axisStart"]) == (1, 1.8, 0.0)
    # the second collection of group a has the group's screening only
    assert [
        s["screeningId"]
        for s in get(flavour, "/processings/screenings", dataCollectionId=flavour.data.dcs["a1"])["results"]
    ] == [by_group]
    assert get(flavour, "/processings/screenings", "sci_b", dataCollectionId=flavour.data.dcs["a0"])["total"] == 0
    seen = {s["screeningId"] for s in get(flavour, "/processings/screenings", "sci_b", limit=100)["results"]}
    assert seen & {by_dc, by_group, on_b} == {on_b}
    both = flavour.run(_screening, flavour.data.dcs["b0"], flavour.data.groups["b"])  # Diamond sets both links
    on_b0 = get(flavour, "/processings/screenings", "sci_b", dataCollectionId=flavour.data.dcs["b0"])
    assert [s["screeningId"] for s in on_b0["results"]] == [on_b, both] and on_b0["total"] == 2
    statuses = get(flavour, "/processings/status", "sci_b", dataCollectionIds=f"[{flavour.data.dcs['b0']}]")
    assert len(statuses["statuses"][str(flavour.data.dcs["b0"])]["screening"]["EDNA"]) == 2
    page = get(flavour, "/processings/screenings", dataCollectionId=flavour.data.dcs["a0"], skip=1, limit=1)
    assert page["total"] == 2 and [s["screeningId"] for s in page["results"]] == [by_group]


def test_screening_status(flavour: Flavour) -> None:
    flavour.run(_screening, flavour.data.dcs["a0"], None)
    ids = f"[{flavour.data.dcs['a0']},{flavour.data.dcs['a1']}]"
    statuses = get(flavour, "/processings/status", dataCollectionIds=ids)["statuses"]
    assert statuses[str(flavour.data.dcs["a0"])]["screening"] == {"EDNA": [{"status": 0, "indexingSuccess": 1}]}
    assert statuses[str(flavour.data.dcs["a1"])]["screening"] is None


async def _quality(db: AsyncSession, dc_id: int, program_id: int, images: int) -> None:
    db.add_all(
        ImageQualityIndicators(
            dataCollectionId=dc_id,
            imageNumber=i,
            autoProcProgramId=program_id,
            goodBraggCandidates=10 * i,
            method2Res=2.0 if i != 2 else None,
            totalIntegratedSignal=100.5 * i,
        )
        for i in range(1, images + 1)
    )
    await db.flush()


def test_quality(flavour: Flavour) -> None:
    dc = flavour.data.dcs["a0"]
    flavour.run(_quality, dc, flavour.run(_program_of, dc), 4)
    body = get(flavour, "/datacollections/quality", dataCollectionId=dc, limit=500)
    assert body["total"] == 4 and body["limit"] == 500
    assert body["results"] == [
        {
            "dataCollectionId": dc,
            "imageNumber": [1, 2, 3, 4],
            "totalIntegratedSignal": [100.5, 201.0, 301.5, 402.0],
            "method2Res": [2.0, None, 2.0, 2.0],
            "goodBraggCandidates": [10, 20, 30, 40],
        }
    ]
    page = get(flavour, "/datacollections/quality", dataCollectionId=dc, skip=1, limit=2)
    assert page["total"] == 4 and page["results"][0]["imageNumber"] == [2, 3]
    hidden = get(flavour, "/datacollections/quality", "sci_b", dataCollectionId=dc)
    assert hidden["total"] == 0 and hidden["results"][0]["imageNumber"] == []
    by_group = get(flavour, "/datacollections/quality", dataCollectionGroupId=flavour.data.groups["a"])
    assert by_group["total"] == 4


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/processings/attachments", {"autoProcProgramId": 0}),
        ("/processings/attachments", {"limit": 10_001}),
        ("/processings/messages", {"autoProcProgramId": "x"}),
        ("/processings/screenings", {"dataCollectionId": -3}),
        ("/datacollections/quality", {"dataCollectionId": "one"}),
        ("/processings/attachments/0", {}),
        ("/processings/attachments/x", {}),
    ],
)
def test_bad_parameters(flavour: Flavour, path: str, params: dict[str, object]) -> None:
    r = flavour.client.get(f"{API}{path}", headers=flavour.token("sci_a"), params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def _merged_program(db: AsyncSession, dc_ids: list[int]) -> int:
    """A program that integrated each of ``dc_ids`` once: the first two integrations merged into one scaling of
    three shells, the third scaled with no shells, the fourth not scaled; its id."""
    program = AutoProcProgram(processingPrograms="merge")
    merged, bare = AutoProcScaling(), AutoProcScaling()
    db.add_all([program, merged, bare])
    await db.flush()
    integrations = [
        AutoProcIntegration(dataCollectionId=dc, autoProcProgramId=program.autoProcProgramId) for dc in dc_ids
    ]
    db.add_all(integrations)
    await db.flush()
    for integration, scaling in zip(integrations, (merged, merged, bare), strict=False):
        db.add(AutoProcScalingHasInt(autoProcScalingId=scaling.autoProcScalingId,
                                     autoProcIntegrationId=integration.autoProcIntegrationId))  # fmt: skip
    for shell in ("overall", "innerShell", "outerShell"):
        db.add(AutoProcScalingStatistics(autoProcScalingId=merged.autoProcScalingId, scalingStatisticsType=shell))
    await db.flush()
    return program.autoProcProgramId


def test_a_scaling_shared_by_integrations_shows_its_shells_under_each(flavour: Flavour) -> None:
    """Integrations, their scaling links and shells come in one query (a row per shell): a scaling two
    integrations share shows its three shells, in order, under each; a scaling with no shells an empty list; an
    integration never scaled no link."""
    dcs = [flavour.data.dcs[k] for k in ("a0", "a0", "a0", "a0")]
    program_id = flavour.run(_merged_program, dcs)
    programs = get(flavour, "/processings/auto-integrations", dataCollectionId=dcs[0], limit=100)["results"]
    [program] = [p for p in programs if p["autoProcProgramId"] == program_id]
    links = [i["AutoProcScalingHasInt"] for i in program["AutoProcIntegration"]]
    assert [len(found) for found in links] == [1, 1, 1, 0]
    scalings = [found[0]["AutoProcScaling"] for found in links[:3]]
    assert scalings[0]["autoProcScalingId"] == scalings[1]["autoProcScalingId"] != scalings[2]["autoProcScalingId"]
    shells = [scaling["AutoProcScalingStatistics"] for scaling in scalings[:2]]
    assert shells[0] == shells[1]
    assert [s["scalingStatisticsType"] for s in shells[0]] == ["overall", "innerShell", "outerShell"]
    ids = [s["autoProcScalingStatisticsId"] for s in shells[0]]
    assert ids == sorted(set(ids))
    assert scalings[2]["AutoProcScalingStatistics"] == []


def test_a_page_of_programs_and_their_integrations_come_in_one_query(flavour: Flavour) -> None:
    """Pages of programs (each with its integrations, joined to the page in the same query) cover the whole list
    in order with one total; past the end a page is empty and still counts; a program that also integrated
    another proposal's collection shows only the integration of the caller's."""
    dc_a, dc_b = flavour.data.dcs["a0"], flavour.data.dcs["b0"]
    before = get(flavour, "/processings/auto-integrations", dataCollectionId=dc_a, limit=1)["total"]
    shared = flavour.run(_merged_program, [dc_a, dc_b])
    for _ in range(3):
        flavour.run(_merged_program, [dc_a])
    whole = get(flavour, "/processings/auto-integrations", dataCollectionId=dc_a, limit=1000)
    assert whole["total"] == len(whole["results"]) == before + 4
    pages = [
        get(flavour, "/processings/auto-integrations", dataCollectionId=dc_a, skip=skip, limit=2)
        for skip in range(0, whole["total"], 2)
    ]
    assert {p["total"] for p in pages} == {whole["total"]}
    assert [p for page in pages for p in page["results"]] == whole["results"]
    past = get(flavour, "/processings/auto-integrations", dataCollectionId=dc_a, skip=whole["total"], limit=2)
    assert (past["total"], past["results"]) == (whole["total"], [])
    for listed in (whole["results"], get(flavour, "/processings/auto-integrations", limit=1000)["results"]):
        [program] = [p for p in listed if p["autoProcProgramId"] == shared]
        assert [i["dataCollectionId"] for i in program["AutoProcIntegration"]] == [dc_a]
    as_b = get(flavour, "/processings/auto-integrations", role="sci_b", dataCollectionId=dc_b, limit=1000)
    [program] = [p for p in as_b["results"] if p["autoProcProgramId"] == shared]
    assert [i["dataCollectionId"] for i in program["AutoProcIntegration"]] == [dc_b]


def test_auto_integrations_show_their_messages(flavour: Flavour) -> None:
    """An auto-integration program's messages come in their order under ``_metadata`` and multiply no
    integration or shell; a program with none has an empty list, and the official schema has none."""
    dc = flavour.data.dcs["a0"]
    program_id = flavour.run(_merged_program, [dc, dc, dc])
    quiet = flavour.run(_merged_program, [dc])
    messages = flavour.run(_messages, program_id, 4) if flavour.name == "dls" else []
    path = "/processings/auto-integrations"
    programs = {p["autoProcProgramId"]: p for p in get(flavour, path, dataCollectionId=dc, limit=100)["results"]}
    listed = programs[program_id]["_metadata"]["autoProcProgramMessages"]
    assert [m["autoProcProgramMessageId"] for m in listed] == messages
    assert [m["message"] for m in listed] == [f"m{i}" for i in range(len(messages))]
    if listed:
        assert set(listed[0]) == {
            "autoProcProgramMessageId", "autoProcProgramId", "description", "message", "severity", "recordTimeStamp",
        }  # fmt: skip
    integrations = programs[program_id]["AutoProcIntegration"]
    assert len(integrations) == 3
    shells = [i["AutoProcScalingHasInt"][0]["AutoProcScaling"]["AutoProcScalingStatistics"] for i in integrations[:2]]
    assert [len(s) for s in shells] == [3, 3]
    assert programs[quiet]["_metadata"]["autoProcProgramMessages"] == []
    whole = get(flavour, path, limit=1000)["results"]
    [again] = [p for p in whole if p["autoProcProgramId"] == program_id]
    assert again["_metadata"]["autoProcProgramMessages"] == listed


def test_the_unified_read_shows_what_the_auto_integrations_route_shows(flavour: Flavour) -> None:
    """``?include=`` shows the same collection as without it and the same programs (integrations, shells,
    messages) as the auto-integrations route's page of 100; a collection with none has an empty list, and one out
    of reach is 404 for both forms."""
    dc = flavour.data.dcs["a0"]
    merged = flavour.run(_merged_program, [dc, dc, dc])
    if flavour.name == "dls":
        flavour.run(_messages, merged, 2)
    path = f"{API}/datacollections/{dc}"
    r = flavour.client.get(path, params={"include": "results"}, headers=flavour.token("sci_a"))
    assert r.status_code == 200
    unified = r.json()
    plain = flavour.client.get(path, headers=flavour.token("sci_a")).json()
    assert {k: v for k, v in unified.items() if k not in ("autoProcessing", "documents")} == {
        k: v for k, v in plain.items() if k not in ("autoProcessing", "documents")
    }
    listed = get(flavour, "/processings/auto-integrations", dataCollectionId=dc, limit=100)["results"]
    assert unified["autoProcessing"] == listed and merged in {p["autoProcProgramId"] for p in listed}
    bare = flavour.run(add_collection, flavour.data.groups["a"])[1]
    alone = flavour.client.get(f"{API}/datacollections/{bare}?include=metrics", headers=flavour.token("sci_a"))
    assert alone.status_code == 200 and alone.json()["autoProcessing"] == []
    for include in ("results", None):
        params = {"include": include} if include else {}
        assert flavour.client.get(path, params=params, headers=flavour.token("sci_b")).status_code == 404


async def _reach_of_one(db: AsyncSession, schema: SchemaInfo, dc: int, scopes: list[Scope]) -> list[list[int]]:
    return [[p["autoProcProgramId"] for p in await auto_integrations_of(db, s, schema, dc)] for s in scopes]


def test_the_unified_read_s_auto_processing_is_scoped_in_its_own_query(flavour: Flavour) -> None:
    """The unified read's auto-processing query (no page) narrows by the caller's scope itself, whatever the
    collection read before it found: a scientist of another proposal and staff of another beamline read nothing,
    a member, that beamline's staff and an admin read the program."""
    dc, persons = flavour.data.dcs["a0"], flavour.data.persons
    program = flavour.run(_merged_program, [dc])
    schema = flavour.state.database.schema
    assert schema is not None
    scopes = [
        Scope(persons["sci_b"]),
        Scope(persons["staff"], beamlines=frozenset({"no-such-beamline"})),
        Scope(persons["sci_a"]),
        Scope(persons["staff"], beamlines=frozenset({BEAMLINE_A})),
        Scope(persons["admin"], all_proposals=True),
    ]
    found = flavour.run(_reach_of_one, schema, dc, scopes)
    assert found[:2] == [[], []] and all(program in ids for ids in found[2:]), found


@pytest.mark.commits
def test_the_unified_read_s_auto_processing_read_beside_the_collection_is_the_same(
    flavour: Flavour, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the service's own pool (not a test's bound connection), the unified read takes the collection's
    auto-processing on a second connection, concurrently with the collection: the same programs as the
    auto-integrations route, and the connection handed back."""
    taken: list[object] = []

    async def spied(db: Any) -> Any:
        other = await beside(db)
        taken.append(other)
        return other

    monkeypatch.setattr(services, "beside", spied)  # the name the service calls
    dc = flavour.data.dcs["a0"]
    path = f"{API}/datacollections/{dc}"
    listed = get(flavour, "/processings/auto-integrations", dataCollectionId=dc, limit=100)["results"]
    assert listed
    for _ in range(3):
        r = flavour.client.get(path, params={"include": "results,metrics"}, headers=flavour.token("sci_a"))
        assert r.status_code == 200 and r.json()["autoProcessing"] == listed
    assert len(taken) == 3 and all(t is not None for t in taken)
    pool = flavour.state.database.read_engine.pool
    assert isinstance(pool, QueuePool)
    for _ in range(100):  # the second connection goes back once its read is over, in the app's event loop
        if pool.checkedout() == 0:
            break
        time.sleep(0.02)
    assert pool.checkedout() == 0
