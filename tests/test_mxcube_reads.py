"""The reads MXCuBE's PyISPyB adapter parses (docs/design/mxcube-calls.md §3 rows 4-8, 22, 23), in the shapes it
needs, on both flavours: proposals by id and by exact name first, never-null code/number/title; today's sessions
with naive ISO dates; the beamline's samples with every nested object present; its sample update."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import tokens
from relational.models import BLSample, BLSession, Container, Crystal, DiffractionPlan, Proposal, ProposalHasPerson
from tests import factories
from tests.conftest import Flavour

API = "/ispyb/api/v1"


def _headers(f: Flavour, role: str) -> dict[str, str]:
    """A bearer token for a role of the data set (issued directly: these tests are about reads, not logins)."""
    token = tokens.issue(f.settings.jwt_secret, f"{role}_{f.name}", f.data.persons[role], 30)
    return {"Authorization": f"Bearer {token}"}


def _get(f: Flavour, path: str, role: str = "sci_a") -> dict[str, Any]:
    r = f.client.get(API + path, headers=_headers(f, role))
    assert r.status_code == 200, r.text
    return cast(dict[str, Any], r.json())


def test_proposals_by_id_and_exact_name_first(flavour: Flavour) -> None:
    name = flavour.data.proposals["a"]
    person = flavour.data.persons["sci_a"]

    async def add(db: AsyncSession) -> tuple[int, int]:
        # newer than proposal a, its title naming a: without the exact-name rule it would come first
        other = Proposal(proposalCode="zz", proposalNumber=f"{name[2:]}9", title=f"follows {name}", personId=person)
        bare = Proposal(personId=person)  # no code, number or title
        db.add_all([other, bare])
        await db.flush()
        db.add_all([ProposalHasPerson(proposalId=p.proposalId, personId=person) for p in (other, bare)])
        return other.proposalId, bare.proposalId

    other, bare = flavour.run(add)
    a_id = _get(flavour, f"/proposals?search={name}")["results"]
    assert [p["proposal"] for p in a_id] == [name, f"{name}9"]
    assert [p["proposalId"] for p in _get(flavour, f"/proposals?proposalId={other}")["results"]] == [other]
    assert _get(flavour, f"/proposals?proposalId={other}", role="sci_b")["results"] == []
    shown = _get(flavour, f"/proposals?proposalId={bare}")["results"]
    assert [(p["proposalCode"], p["proposalNumber"], p["title"]) for p in shown] == [("", "", "")]
    r = flavour.client.get(f"{API}/proposals?proposalId={2**32}", headers=_headers(flavour, "sci_a"))
    assert r.status_code == 422


def test_sessions_running_on_a_day(flavour: Flavour) -> None:
    """Session a runs 2024-03-01 08:00 to 03-02 08:00 (factories); one of three days is added that starts the
    month before: the month filter alone would lose it, the day keeps it."""
    name, session_a = flavour.data.proposals["a"], flavour.data.sessions["a"]

    async def add(db: AsyncSession) -> int:
        proposal_id = (await db.execute(select(BLSession.proposalId).where(BLSession.sessionId == session_a))).scalar()
        session = BLSession(
            proposalId=proposal_id,
            beamLineName=factories.BEAMLINE_A,
            startDate=datetime(2024, 2, 28, 8, 0),
            endDate=datetime(2024, 4, 2, 8, 0),
        )
        db.add(session)
        await db.flush()
        return session.sessionId

    long = flavour.run(add)
    base = f"/sessions?proposal={name}&beamLineName={factories.BEAMLINE_A}"
    on_day = _get(flavour, f"{base}&year=2024&month=3&day=2")["results"]
    assert sorted(s["sessionId"] for s in on_day) == sorted([session_a, long])
    assert [s["sessionId"] for s in _get(flavour, f"{base}&year=2024&month=3&day=3")["results"]] == [long]
    assert _get(flavour, f"{base}&year=2024&month=4&day=3")["results"] == []
    found = next(s for s in on_day if s["sessionId"] == session_a)
    assert (found["startDate"], found["endDate"], found["proposal"]) == (
        "2024-03-01T08:00:00",
        "2024-03-02T08:00:00",
        name,
    )
    assert (
        datetime.fromisoformat(found["startDate"])
        <= datetime(2024, 3, 1, 12)
        <= datetime.fromisoformat(found["endDate"])
    )
    for bad in ("&day=2", "&month=3&day=2", "&year=2024&month=2&day=30", "&year=2024&month=3&day=0"):
        r = flavour.client.get(API + base + bad, headers=_headers(flavour, "sci_a"))
        assert r.status_code == 422 and "day" in r.text, (bad, r.text)


def _at_beamline(flavour: Flavour) -> tuple[int, int]:
    """Sample a's container goes to beamline A (sample-changer position 5); a second sample of proposal a, in
    no container and without a protocol, stays off it. (sample a's id, the other's id)"""
    sample_a = flavour.data.samples["a"]

    async def work(db: AsyncSession) -> int:
        await db.execute(
            update(Container)
            .where(Container.containerId == flavour.data.containers["a"])
            .values(beamlineLocation=factories.BEAMLINE_A, sampleChangerLocation="5")
        )
        plan = DiffractionPlan(comments="mxcube")
        crystal = Crystal(proteinId=flavour.data.proteins["a"], spaceGroup="P212121", cell_a=40.5)
        db.add_all([plan, crystal])
        await db.flush()
        await db.execute(
            update(BLSample).where(BLSample.blSampleId == sample_a).values(diffractionPlanId=plan.diffractionPlanId)
        )
        loose = BLSample(crystalId=crystal.crystalId, name="loose")
        db.add(loose)
        await db.flush()
        return loose.blSampleId

    return sample_a, flavour.run(work)


def test_samples_at_the_beamline_as_mxcube_reads_them(flavour: Flavour) -> None:
    sample_a, loose = _at_beamline(flavour)
    name = flavour.data.proposals["a"]
    listed = _get(flavour, f"/samples?proposal={name}&beamLineName={factories.BEAMLINE_A}")["results"]
    assert [s["blSampleId"] for s in listed] == [sample_a]
    item = listed[0]
    # every key PyISPyBDataAdapter.__to_sample reads, with []
    assert (item["code"], item["name"], item["location"]) == (None, "sample-a", "1")
    assert (item["Container"]["code"], item["Container"]["sampleChangerLocation"]) == ("puck-a", "5")
    crystal = item["Crystal"]
    assert (crystal["space_group"], crystal["spaceGroup"], crystal["Protein"]["acronym"]) == ("P21", "P21", "prota")
    assert [crystal[k] for k in ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")] == [None] * 6
    assert isinstance(crystal["crystalId"], int) and isinstance(item["DiffractionPlan"]["diffractionPlanId"], int)
    assert _get(flavour, f"/samples?proposal={name}&beamLineName={factories.BEAMLINE_B}")["results"] == []
    # the loose sample (no container, no protocol) still gives every object MXCuBE indexes, fields null
    whole = _get(flavour, f"/samples/{loose}")
    assert whole["Container"] == {
        "containerId": None,
        "code": None,
        "barcode": None,
        "sampleChangerLocation": None,
        "beamlineLocation": None,
    }
    assert whole["DiffractionPlan"]["diffractionPlanId"] is None and set(whole["DiffractionPlan"].values()) == {None}
    assert (whole["Crystal"]["space_group"], whole["Crystal"]["cell_a"]) == ("P212121", 40.5)


def _sample_row(flavour: Flavour, sample_id: int) -> tuple[Any, ...]:
    async def read(db: AsyncSession) -> tuple[Any, ...]:
        query = select(
            BLSample.name, BLSample.code, BLSample.lastKnownCenteringPosition, BLSample.crystalId, BLSample.comments
        ).where(BLSample.blSampleId == sample_id)
        return tuple((await db.execute(query)).one())

    return flavour.run(read)


def test_sample_update_takes_mxcubes_dict(flavour: Flavour) -> None:
    sample = flavour.data.samples["a"]
    before = _sample_row(flavour, sample)
    body = {
        "blSampleId": sample,
        "name": "sample-a2",
        "code": "PIN-7",
        "lastKnownCentringPosition": " phi=12.5 kappa=0.0 sampx=0.1",
        "sampleName": "sample-a2",
        "containerCode": "puck-a",
        "crystalId": 1,
    }
    r = flavour.client.patch(f"{API}/samples/{sample}", json=body, headers=_headers(flavour, "sci_a"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "sample-a2" and r.json()["code"] == "PIN-7"
    assert r.headers["Warning"] == '299 ispyb "ignored keys: containerCode, crystalId, sampleName"'
    after = _sample_row(flavour, sample)
    assert after == ("sample-a2", "PIN-7", " phi=12.5 kappa=0.0 sampx=0.1", before[3], before[4])
    # the py-ispyb-ui body still works, without a warning
    r = flavour.client.patch(f"{API}/samples/{sample}", json={"comments": "ok"}, headers=_headers(flavour, "sci_a"))
    assert r.status_code == 200 and "Warning" not in r.headers
    assert _sample_row(flavour, sample)[4] == "ok"


def test_sample_update_refuses_another_samples_id(flavour: Flavour) -> None:
    sample, other = flavour.data.samples["a"], flavour.data.samples["b"]
    before = _sample_row(flavour, sample)
    for body in ({"blSampleId": other, "name": "moved"}, {"blSampleId": 2**32, "name": "moved"}):
        r = flavour.client.patch(f"{API}/samples/{sample}", json=body, headers=_headers(flavour, "sci_a"))
        assert r.status_code == 422 and "blSampleId" in r.text, r.text
    r = flavour.client.patch(
        f"{API}/samples/{sample}", json={"lastKnownCentringPosition": "x" * 256}, headers=_headers(flavour, "sci_a")
    )
    assert r.status_code == 422 and "lastKnownCent" in r.text, r.text
    r = flavour.client.patch(
        f"{API}/samples/{other}", json={"blSampleId": other, "code": "X"}, headers=_headers(flavour, "sci_a")
    )
    assert r.status_code == 404
    assert _sample_row(flavour, sample) == before


def test_the_beamlines_samples_come_whole(flavour: Flavour) -> None:
    """MXCuBE never sends ``limit`` and reads only the first page: the beamline's list is whole unless asked."""
    sample_a, _ = _at_beamline(flavour)

    async def fill(db: AsyncSession) -> None:
        crystal = (await db.execute(select(BLSample.crystalId).where(BLSample.blSampleId == sample_a))).scalar_one()
        container = flavour.data.containers["a"]
        db.add_all(
            [BLSample(containerId=container, crystalId=crystal, name=f"s{i}", location=str(i)) for i in range(30)]
        )

    flavour.run(fill)
    base = f"/samples?proposal={flavour.data.proposals['a']}&beamLineName={factories.BEAMLINE_A}"
    whole = _get(flavour, base)
    assert (whole["total"], len(whole["results"])) == (31, 31)
    assert len(_get(flavour, base + "&limit=5")["results"]) == 5
    assert len(_get(flavour, f"/samples?proposal={flavour.data.proposals['a']}")["results"]) == 25
