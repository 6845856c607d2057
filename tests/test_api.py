"""py-ispyb's response shapes and conventions, and bad input, on both flavours."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relational import proposals
from relational.common import Page
from relational.models import BLSession, Proposal, ProposalHasPerson
from relational.scope import Scope
from schemas.times import local_now
from tests.conftest import JWT_SECRET, Flavour
from tests.factories import add_collection, add_session_with_group

API = "/ispyb/api/v1"


def get(f: Flavour, path: str, role: str = "sci_a", **params: object) -> dict[str, Any]:
    r = f.client.get(API + path, headers=f.token(role), params=params)
    assert r.status_code == 200, r.text
    return cast(dict[str, Any], r.json())


def test_list_envelope_and_metadata(flavour: Flavour) -> None:
    body = get(flavour, "/proposals", limit=9999)
    assert set(body) == {"total", "results", "skip", "limit"} and body["limit"] == 9999
    proposal = next(p for p in body["results"] if p["proposal"] == flavour.data.proposals["a"])
    assert proposal["proposalId"] and proposal["_metadata"]["beamLines"] == ["tb01"]
    assert proposal["_metadata"]["sessions"] == 1 and proposal["_metadata"]["persons"] == 1
    session = get(flavour, f"/sessions/{flavour.data.sessions['a']}")
    meta = session["_metadata"]
    assert session["session"] == f"{flavour.data.proposals['a']}-1"
    assert meta["datacollections"] == 2 and meta["persons"] == 1
    assert isinstance(meta["sessionTypes"], list) and meta["uiGroups"] == ["mx"]


async def _proposal_on_beamlines(db: AsyncSession, person_id: int, beamlines: list[str | None]) -> int:
    proposal = Proposal(personId=person_id, proposalCode="bl", proposalNumber=uuid.uuid4().hex[:8], title="beamlines")
    db.add(proposal)
    await db.flush()
    db.add_all(BLSession(proposalId=proposal.proposalId, beamLineName=b) for b in beamlines)
    db.add(ProposalHasPerson(proposalId=proposal.proposalId, personId=person_id))
    await db.flush()
    return proposal.proposalId


def test_a_proposals_metadata_counts_every_session_and_lists_each_beamline_once(flavour: Flavour) -> None:
    """Sessions are counted and their beamlines listed once each in the database (one string per proposal, each
    name length-prefixed): commas, colons and digits in a name, the longest name and an empty one survive."""
    odd = ["a,b", "3:x,y", "1:", ",", "é:", "L" * 45]
    beamlines = ["tb02", "tb01", "tb02", None, "tb02", "", *odd, *odd]
    pid = flavour.run(_proposal_on_beamlines, flavour.data.persons["sci_a"], beamlines)
    [proposal] = get(flavour, "/proposals", role="admin", proposalId=pid)["results"]
    assert proposal["_metadata"] | {"uiGroups": None} == {
        "persons": 1,
        "sessions": len(beamlines),
        "beamLines": sorted(["tb01", "tb02", *odd]),
        "uiGroups": None,
    }


def test_beamline_names_cut_short_by_the_database_are_left_out() -> None:
    """``GROUP_CONCAT`` stops at ``group_concat_max_len``: the last name, cut, is not shown as another name."""
    whole = "4:tb01,3:a,b,5:tb:02"
    assert proposals._unpacked(whole) == {"tb01", "a,b", "tb:02"}
    assert proposals._unpacked(whole[:-1]) == proposals._unpacked("4:tb01,3:a,b,5") == {"tb01", "a,b"}
    assert proposals._unpacked(None) == proposals._unpacked("") == set()


def test_pages_of_proposals_cover_the_list_in_order_with_one_total(flavour: Flavour) -> None:
    """A page, its total and its proposals' counts come in one query: pages of 2 put together are the whole
    list; past the end a page is empty and still counts."""
    flavour.run(_proposal_on_beamlines, flavour.data.persons["sci_a"], ["tb01", None])
    whole = get(flavour, "/proposals", role="admin", limit=10_000)
    total = whole["total"]
    pages = [get(flavour, "/proposals", role="admin", skip=skip, limit=2) for skip in range(0, total, 2)]
    assert {page["total"] for page in pages} == {total} and total == len(whole["results"])
    assert [p for page in pages for p in page["results"]] == whole["results"]
    assert [p["proposalId"] for p in whole["results"]] == sorted(
        (p["proposalId"] for p in whole["results"]), reverse=True
    )
    past = get(flavour, "/proposals", role="admin", skip=total, limit=2)
    assert (past["total"], past["results"]) == (total, [])


async def _proposal_pages_in_strict_mode(db: AsyncSession, name: str) -> list[list[str]]:
    """Pages of proposals (plain, then searched) read with MariaDB's ONLY_FULL_GROUP_BY on, which some facilities
    set: their query groups by every column of the page."""
    await db.execute(text("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ONLY_FULL_GROUP_BY')"))
    try:
        scope = Scope(person_id=0, all_proposals=True, beamlines=frozenset())
        pages = [await proposals.get_proposals(db, scope, Page(0, 2), search=s) for s in (None, name)]
    finally:
        await db.execute(text("SET SESSION sql_mode = @@GLOBAL.sql_mode"))
    return [[p["proposal"] for p in rows] for _, rows in pages]


def test_proposals_are_read_under_only_full_group_by(flavour: Flavour) -> None:
    name = flavour.data.proposals["a"]
    plain, searched = flavour.run(_proposal_pages_in_strict_mode, name)
    assert len(plain) == 2 and searched[0] == name


def test_paging_keeps_the_total_on_every_page(flavour: Flavour) -> None:
    session = flavour.data.sessions["a"]
    whole = get(flavour, "/events", sessionId=session)
    pages = [get(flavour, "/events", sessionId=session, skip=i, limit=1) for i in range(whole["total"] + 1)]
    assert [p["total"] for p in pages] == [whole["total"]] * len(pages)
    assert [e["id"] for p in pages for e in p["results"]] == [e["id"] for e in whole["results"]]
    assert pages[-1]["results"] == [] and pages[-1]["skip"] == whole["total"]
    assert get(flavour, "/sessions", proposal="NOPE99")["total"] == 0


def test_names_with_null_parts_do_not_fail(flavour: Flavour) -> None:
    """Visit number, proposal code and number are all nullable in both flavours."""
    end = local_now() - timedelta(days=3)
    group = flavour.run(add_session_with_group, flavour.data.persons["sci_a"], "903", end)
    session_id, dc_id = flavour.run(add_collection, group)
    session = get(flavour, f"/sessions/{session_id}", "admin")
    assert session["session"] is None and session["proposal"] == "cnt903"
    assert get(flavour, f"/datacollections/{dc_id}", "admin")["BLSession"]["session"] is None
    events = get(flavour, "/events", "admin", sessionId=session_id)["results"]
    assert [(e["id"], e["session"], e["proposal"]) for e in events] == [(dc_id, None, "cnt903")]


def test_sessions_filters(flavour: Flavour) -> None:
    a = flavour.data.proposals["a"]
    assert get(flavour, "/sessions", "admin", proposal=a)["total"] == 1
    assert get(flavour, "/sessions", "admin", proposal=a, year=2024, month=3)["total"] == 1
    assert get(flavour, "/sessions", "admin", proposal=a, year=2023)["total"] == 0
    assert get(flavour, "/sessions", "admin", proposal=a, upcoming=True)["total"] == 0
    assert get(flavour, "/sessions", "admin", proposal=a, previous=True)["total"] == 1
    assert get(flavour, "/sessions", "admin", beamLineName="tb02", proposal=a)["total"] == 0
    group = get(flavour, "/sessions/group", "admin", beamLineGroup="TB", previous=True)
    assert [s["beamLineName"] for s in group["results"]] == ["tb01"]


def test_events_timeline(flavour: Flavour) -> None:
    d = flavour.data
    body = get(flavour, "/events", sessionId=d.sessions["a"])
    types = sorted(e["type"] for e in body["results"])
    assert types == ["dc", "robot"] and body["total"] == 2
    dc_event = next(e for e in body["results"] if e["type"] == "dc")
    assert dc_event["count"] == 2 and dc_event["Item"]["DataCollectionGroup"]["experimentType"] == "OSC"
    assert dc_event["blSample"] == "sample-a" and dc_event["Item"]["_metadata"]["snapshots"]["1"] is False
    names = {(e["session"], e["proposal"]) for e in body["results"]}  # joined to the page in its query
    assert names == {(f"{d.proposals['a']}-1", d.proposals["a"])}
    ungrouped = get(flavour, "/events", dataCollectionGroupId=d.groups["a"])
    assert {e["id"] for e in ungrouped["results"]} == {d.dcs["a0"], d.dcs["a1"]}
    robots = get(flavour, "/events", sessionId=d.sessions["a"], eventType="robot")
    assert [e["Item"]["actionType"] for e in robots["results"]] == ["LOAD"]
    assert get(flavour, "/events", sessionId=d.sessions["a"], status="processed")["total"] == 1
    # an empty text filter filters nothing (the statement built for a shape leaves it out, as before)
    for empty in ({"beamLineName": ""}, {"eventType": ""}):
        assert get(flavour, "/events", sessionId=d.sessions["a"], **empty)["total"] == 2, empty
    # statements are built once per shape and caller: another caller's own session, then the same shape out of reach
    other = get(flavour, "/events", role="sci_b", sessionId=d.sessions["b"])
    assert other["total"] >= 1 and {e["sessionId"] for e in other["results"]} == {d.sessions["b"]}
    assert get(flavour, "/events", sessionId=d.sessions["b"])["total"] == 0
    types = get(flavour, "/events/types", sessionId=d.sessions["a"])["results"]
    assert {t["eventType"] for t in types} == {"OSC", "robot"}


def test_datacollection_and_processing(flavour: Flavour) -> None:
    d = flavour.data
    dc = get(flavour, f"/datacollections/{d.dcs['a0']}")
    assert dc["BLSession"]["sessionId"] == d.sessions["a"] and dc["BLSample"]["name"] == "sample-a"
    assert dc["BLSample"]["acronym"] == "prota" and dc["wavelength"] == pytest.approx(0.9763)
    body = get(flavour, "/processings/auto-integrations", dataCollectionId=d.dcs["a0"])
    assert body["total"] == 1
    program = body["results"][0]
    assert program["processingStatus"] == 1 and program["_metadata"]["autoProcProgramMessages"] == []
    shells = program["AutoProcIntegration"][0]["AutoProcScalingHasInt"][0]["AutoProcScaling"]
    stats = {s["scalingStatisticsType"]: s for s in shells["AutoProcScalingStatistics"]}
    assert set(stats) == {"overall", "innerShell", "outerShell"} and stats["innerShell"]["resolutionLimitHigh"] == 5.4
    assert "ccAnomalous" in stats["overall"] and shells["AutoProc"]["spaceGroup"] == "P21"
    statuses = get(flavour, "/processings/status", dataCollectionIds=json.dumps([d.dcs["a0"], d.dcs["a1"]]))
    assert set(statuses["statuses"]) == {str(d.dcs["a0"]), str(d.dcs["a1"])}
    for entry in statuses["statuses"].values():
        assert set(entry) == {"screening", "xrc", "processing", "autoIntegration", "em"}
    assert statuses["statuses"][str(d.dcs["a1"])]["autoIntegration"] is None
    assert statuses["statuses"][str(d.dcs["a0"])]["autoIntegration"]["xia2 dials"][0]["status"] == 1


def test_stats(flavour: Flavour) -> None:
    sid = flavour.data.sessions["a"]
    times = get(flavour, "/stats/times", sessionId=sid)
    assert set(times["average"]) == {
        "duration",
        "startup",
        "datacollection",
        "edge",
        "xrf",
        "robot",
        "strategy",
        "centring",
        "fault",
        "remaining",
        "thinking",
    }
    entry = times["sessions"][0]
    assert entry["duration"] == pytest.approx(24.0) and entry["startup"] == pytest.approx(1.0)
    assert entry["datacollection"] == pytest.approx(10 / 60)
    breakdown = get(flavour, "/stats/breakdown", sessionId=sid)
    assert breakdown["overview"]["counts"]["datacollections"] == 2 and breakdown["overview"]["counts"]["robot"] == 1
    assert len(breakdown["plottables"]["time"]) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/sessions?limit=10001",
        "/sessions?skip=-1",
        "/proposals?skip=32589158477190044729",
        "/proposals?search=%F0%9F%98%80",
        "/samples?search=%E6%97%A5%E6%9C%AC",
        "/events?session=%F0%9F%98%80-1",
        "/sessions?limit=0",
        "/sessions/abc",
        "/sessions/99999999999",
        "/proposals/%27%20OR%201=1",
        "/events?sessionId=x",
        "/events?status=weird",
        "/sessions?month=13",
        "/processings/status?dataCollectionIds=[1,",
        "/processings/status?dataCollectionIds=%7B%7D",
        "/processings/status?dataCollectionIds=[true]",
        "/processings/status",
        "/processings/status?dataCollectionIds=" + "[" * 20_000,
        "/processings/messages/status?dataCollectionIds=" + "[" * 5_000 + "1" + "]" * 5_000,
        "/stats/times",
    ],
)
def test_bad_input_is_a_4xx_problem(flavour: Flavour, path: str) -> None:
    r = flavour.client.get(API + path, headers=flavour.token("sci_a"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json") and body["status"] == 422
    if body["title"] == "Request validation failed":
        assert all({"loc", "msg", "type"} <= set(e) for e in body["detail"])


def test_unknown_parameters_are_ignored(flavour: Flavour) -> None:
    assert get(flavour, "/sessions", order_by="startDate", whatever="1")["total"] == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "No token"),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, "Invalid token"),
        ({"Authorization": "Bearer " + jwt.encode({"sub": "x", "personId": 1, "exp": 1}, JWT_SECRET)}, "expired"),
        (
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    {"sub": "x", "personId": 1, "exp": datetime.now(UTC) + timedelta(hours=1)}, "other-secret-" * 3
                )
            },
            "Invalid token",
        ),
    ],
)
def test_token_problems_are_401(flavour: Flavour, headers: dict[str, str], reason: str) -> None:
    r = flavour.client.get(API + "/proposals", headers=headers)
    assert r.status_code == 401 and reason in r.json()["detail"]
