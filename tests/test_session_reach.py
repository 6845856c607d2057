"""Callers who reach single sessions of a proposal (a Session_has_Person member, beamline staff) see the
documents and export rows of those sessions only, never of the proposal's other sessions, through every route."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import (
    BLSample,
    BLSession,
    Container,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Dewar,
    Person,
    Proposal,
    Protein,
    SessionHasPerson,
    Shipping,
)
from tests import factories
from tests.conftest import Flavour
from tests.test_shipping import Caller

KIND, FIELD = "mx.image", "spotCount"


@dataclass
class World:
    proposal: str
    guest: str  #: role of a person on the tb02 session only
    dcs: dict[str, int]  #: tb01 / tb02 → a collection of that session
    sessions: dict[str, int]
    results: dict[str, str]


async def _build(db: AsyncSession, tag: str, flavour: str) -> tuple[str, str, dict[str, int], dict[str, int]]:
    guest = Person(login=f"guest{tag}_{flavour}", givenName="guest", familyName="Test")
    db.add(guest)
    await db.flush()
    proposal = Proposal(personId=guest.personId, proposalCode="rc", proposalNumber=tag, title="reach")
    db.add(proposal)
    await db.flush()
    protein = Protein(proposalId=proposal.proposalId, acronym=f"r{tag}", name="reach")
    shipping = Shipping(proposalId=proposal.proposalId, shippingName=f"reach {tag}")
    db.add_all([protein, shipping])
    await db.flush()
    dewar = Dewar(shippingId=shipping.shippingId, code=f"dw-{tag}")
    crystal = Crystal(proteinId=protein.proteinId)
    db.add_all([dewar, crystal])
    await db.flush()
    container = Container(dewarId=dewar.dewarId, code=f"pk-{tag}", containerType="Unipuck", capacity=16)
    db.add(container)
    await db.flush()
    dcs, sessions = {}, {}
    for visit, beamline in enumerate((factories.BEAMLINE_A, factories.BEAMLINE_B), 1):
        session = BLSession(proposalId=proposal.proposalId, beamLineName=beamline, visit_number=visit,
                            startDate=datetime(2024, 5, 1), endDate=datetime(2024, 5, 2))  # fmt: skip
        sample = BLSample(containerId=container.containerId, crystalId=crystal.crystalId, name=beamline)
        db.add_all([session, sample])
        await db.flush()
        group = DataCollectionGroup(sessionId=session.sessionId, blSampleId=sample.blSampleId,
                                    experimentType="OSC")  # fmt: skip
        db.add(group)
        await db.flush()
        dc = DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, sessionId=session.sessionId,
                            blSampleId=sample.blSampleId, startTime=datetime(2024, 5, 1, 9))  # fmt: skip
        db.add(dc)
        await db.flush()
        dcs[beamline], sessions[beamline] = dc.dataCollectionId, session.sessionId
    on_b = SessionHasPerson(sessionId=sessions[factories.BEAMLINE_B], personId=guest.personId)
    db.add(on_b)
    await db.flush()
    return f"rc{tag}", f"guest{tag}", dcs, sessions


@pytest.fixture
def world(flavour: Flavour) -> World:
    proposal, guest, dcs, sessions = flavour.run(_build, str(uuid.uuid4().int % 10**8), flavour.name)
    pipeline = Caller(flavour, "pipeline")
    results = {}
    for beamline, dc in dcs.items():
        body = {"kind": "mx.autoproc", "program": {"name": f"p-{beamline}"}, "dataCollectionIds": [dc], "data": {}}
        results[beamline] = pipeline("POST", "/results", 201, json=body)["resultId"]
        lines = [{"kind": KIND, "dataCollectionId": dc, "values": {"imageNumber": i, FIELD: i}} for i in range(1, 4)]
        report = pipeline("POST", "/metrics/bulk", 200, content="\n".join(json.dumps(x) for x in lines).encode())
        assert report["accepted"] == 3, report
    return World(proposal, guest, dcs, sessions, results)


def _seen_sessions(answer: Any) -> set[int]:
    """Every session id an answer names (documents carry ``sessionId`` or ``sessionIds``)."""
    found: set[int] = set()
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "sessionId" and isinstance(value, int):
                found.add(value)
            elif key == "sessionIds" and isinstance(value, list):
                found |= {v for v in value if isinstance(v, int)}
            else:
                found |= _seen_sessions(value)
    elif isinstance(answer, list):
        for item in answer:
            found |= _seen_sessions(item)
    return found


@pytest.mark.parametrize(("role", "sees", "hidden"), [("guest", "tb02", "tb01"), ("staff", "tb01", "tb02")])
def test_single_sessions_bound_every_document_read(
    flavour: Flavour, world: World, role: str, sees: str, hidden: str
) -> None:
    call = Caller(flavour, world.guest if role == "guest" else role)
    mine, other = world.sessions[sees], world.sessions[hidden]
    ours = {"proposalId": {"$exists": True}, "dataCollectionIds": {"$in": list(world.dcs.values())}}
    answers = {
        "results": call("GET", f"/results?proposal={world.proposal}", 200)["results"],
        "metrics": call("GET", f"/metrics?proposal={world.proposal}&limit=100", 200)["results"],
        "find results": call("POST", "/query/find", 200, json={"collection": "results", "filter": ours}),
        "find metrics": call("POST", "/query/find", 200, json={
            "collection": "metrics", "filter": {"dataCollectionId": {"$in": list(world.dcs.values())}}}),
        "find rollups": call("POST", "/query/find", 200, json={
            "collection": "rollups", "filter": {"sessionId": {"$in": list(world.sessions.values())}}}),
        "union": call("POST", "/query/aggregate", 200, json={"collection": "rollups", "pipeline": [
            {"$limit": 1}, {"$unionWith": {"coll": "metrics", "pipeline": [{"$match": {"kind": KIND}}]}}]}),
    }  # fmt: skip
    for name, answer in answers.items():
        seen = _seen_sessions(answer)
        assert other not in seen, f"{name} shows the session {role} does not reach"
        assert mine in seen, f"{name} lacks the session {role} reaches"
    assert call("GET", f"/metrics?sessionId={other}", 200)["total"] == 0
    call("GET", f"/results/{world.results[hidden]}", 404)
    assert call("GET", f"/results/{world.results[sees]}", 200)["resultId"] == world.results[sees]
    summary = call("GET", f"/stats/metrics/summary?kind={KIND}&field={FIELD}&proposal={world.proposal}", 200)
    assert summary["fields"][FIELD]["count"] == 3, summary
    rows = call("GET", f"/proposals/{world.proposal}/results?format=ndjson", 200).text.splitlines()
    exported = {json.loads(r)["dataCollectionId"] for r in rows}
    assert world.dcs[sees] in exported and world.dcs[hidden] not in exported


def test_a_session_member_writes_only_about_their_session(flavour: Flavour, world: World) -> None:
    guest = Caller(flavour, world.guest)
    body = {"kind": "mx.autoproc", "program": {"name": "mine"}, "data": {}}
    guest("POST", "/results", 404, json=body | {"dataCollectionIds": [world.dcs["tb01"]]})
    guest("POST", "/results", 201, json=body | {"dataCollectionIds": [world.dcs["tb02"]]})
    line = {"kind": KIND, "dataCollectionId": world.dcs["tb01"], "values": {"imageNumber": 9, FIELD: 9}}
    assert guest("POST", "/metrics/bulk", 200, content=json.dumps(line).encode())["accepted"] == 0
