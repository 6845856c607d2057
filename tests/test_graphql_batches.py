"""No N+1 in GraphQL: a nested query's SQL statements are as many with one object per level as with many, and per
parent pages (the window function) hold each parent's own children, on both flavours."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
    BLSession,
    DataCollection,
    DataCollectionGroup,
)
from tests.conftest import Flavour
from tests.factories import BEAMLINE_A
from tests.test_graphql import gql

#: sessions → collections → their group, sample (→ protein, container), integrations (→ program, statistics)
DEEP = """query($p: String!) { sessions(proposal: $p, first: 10) { edges { node { sessionId
  Proposal { proposalId }
  dataCollections(first: 10) { totalCount edges { node { dataCollectionId
    DataCollectionGroup { dataCollectionGroupId }
    BLSample { blSampleId Protein { acronym } Container { code } }
    autoProcIntegrations(first: 5) { totalCount edges { node { autoProcIntegrationId
      AutoProcProgram { processingPrograms } scalingStatistics { scalingStatisticsType } } } } } } } } } } }"""


def run(f: Flavour) -> tuple[dict[str, Any], int]:
    gql(f, "sci_a", DEEP, {"p": f.data.proposals["a"]})  # the finished sessions' counts are cached after this
    with f.statements() as seen:
        answer = gql(f, "sci_a", DEEP, {"p": f.data.proposals["a"]})
    assert "errors" not in answer, answer
    return answer["data"], len(seen)


async def _more(db: AsyncSession, proposal_id: int, sample_id: int, sessions: int, collections: int) -> list[int]:
    """Sessions of the proposal, each with collections of the sample, each integrated once with three shells;
    the sessions' ids."""
    made = []
    for s in range(sessions):
        start = datetime(2023, 1, 1) + timedelta(days=s)
        session = BLSession(proposalId=proposal_id, beamLineName=BEAMLINE_A, visit_number=10 + s,
                            startDate=start, endDate=start + timedelta(hours=8))  # fmt: skip
        db.add(session)
        await db.flush()
        made.append(session.sessionId)
        group = DataCollectionGroup(sessionId=session.sessionId, blSampleId=sample_id, experimentType="OSC")
        db.add(group)
        await db.flush()
        for c in range(collections):
            dc = DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, sessionId=session.sessionId,
                                startTime=start + timedelta(minutes=c))  # fmt: skip
            program = AutoProcProgram(processingPrograms=f"p{s}.{c}")
            scaling = AutoProcScaling()
            db.add_all([dc, program, scaling])
            await db.flush()
            integration = AutoProcIntegration(dataCollectionId=dc.dataCollectionId,
                                              autoProcProgramId=program.autoProcProgramId)  # fmt: skip
            db.add(integration)
            await db.flush()
            db.add(AutoProcScalingHasInt(autoProcScalingId=scaling.autoProcScalingId,
                                         autoProcIntegrationId=integration.autoProcIntegrationId))  # fmt: skip
            for shell in ("overall", "innerShell", "outerShell"):
                db.add(AutoProcScalingStatistics(autoProcScalingId=scaling.autoProcScalingId,
                                                 scalingStatisticsType=shell))  # fmt: skip
    await db.flush()
    return made


def test_statements_bounded_by_depth(flavour: Flavour) -> None:
    f = flavour
    small, before = run(f)
    assert len(small["sessions"]["edges"]) == 1
    pid = small["sessions"]["edges"][0]["node"]["Proposal"]["proposalId"]
    made = f.run(_more, pid, f.data.samples["a"], 6, 5)
    big, after = run(f)
    sessions = big["sessions"]["edges"]
    assert {e["node"]["sessionId"] for e in sessions} == {f.data.sessions["a"], *made}
    collections = [c["node"] for s in sessions for c in s["node"]["dataCollections"]["edges"]]
    assert len(collections) == 2 + 6 * 5
    integrations = [i["node"] for c in collections for i in c["autoProcIntegrations"]["edges"]]
    assert len(integrations) == 1 + 6 * 5
    assert all(len(i["scalingStatistics"]) == 3 for i in integrations)
    assert {i["AutoProcProgram"]["processingPrograms"] for i in integrations} >= {"p0.0", "p5.4"}
    assert {c["BLSample"]["Protein"]["acronym"] for c in collections} == {"prota"}
    assert after == before, f"{before} statements for one object per level, {after} for many"
    assert after <= 16, after  # auth, the root list (page, counts) and one per edge: not one per object


def test_pages_per_parent(flavour: Flavour) -> None:
    """Each session's own page of its collections, in order, with its own total and cursors."""
    f = flavour
    small, _ = run(f)
    pid = small["sessions"]["edges"][0]["node"]["Proposal"]["proposalId"]
    made = f.run(_more, pid, f.data.samples["a"], 3, 4)
    query = """query($p: String!, $after: String) { sessions(proposal: $p, first: 10) { edges { node { sessionId
      dataCollections(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage }
        edges { cursor node { dataCollectionId startTime } } } } } } }"""
    first = gql(f, "sci_a", query, {"p": f.data.proposals["a"]})["data"]["sessions"]["edges"]
    second = gql(f, "sci_a", query, {"p": f.data.proposals["a"], "after": first[0]["node"]["dataCollections"][
        "edges"][-1]["cursor"]})["data"]["sessions"]["edges"]  # fmt: skip
    by_session = {e["node"]["sessionId"]: e["node"]["dataCollections"] for e in first}
    later = {e["node"]["sessionId"]: e["node"]["dataCollections"] for e in second}
    for session_id in made:
        rest = f.client.get(f"/ispyb/api/v1/sessions/{session_id}/summary", headers=f.token("sci_a")).json()
        ids = [c["dataCollectionId"] for c in rest["dataCollections"]]
        assert len(ids) == 4
        page, next_page = by_session[session_id], later[session_id]
        assert page["totalCount"] == next_page["totalCount"] == 4
        assert [e["node"]["dataCollectionId"] for e in page["edges"]] == ids[:2]
        assert [e["node"]["dataCollectionId"] for e in next_page["edges"]] == ids[2:]
        assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
        assert next_page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}
    assert by_session[f.data.sessions["a"]]["totalCount"] == 2
    assert later[f.data.sessions["a"]]["edges"] == []  # past its end: none, its total still known
    assert later[f.data.sessions["a"]]["totalCount"] == 2
