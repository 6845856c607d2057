"""py-ispyb's /persons: people with a login on the proposals and sessions the caller reaches, never others."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import BLSession, Person, ProposalHasPerson, SessionHasPerson
from tests import factories
from tests.conftest import Flavour
from tests.test_shipping import Caller, proposal_id

#: the data set's people each role gets with no filter
EXPECTED = {"sci_a": ["sci_a"], "sci_b": ["sci_b"], "staff": ["sci_a"], "nobody": [], "manager": []}


def _ids(listed: dict[str, Any]) -> list[int]:
    return [p["personId"] for p in listed["results"]]


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_sees_exactly_its_people(flavour: Flavour, role: str) -> None:
    people = flavour.data.persons
    listed = Caller(flavour, role)("GET", "/persons", 200, params={"limit": 1000})
    assert _ids(listed) == [people[r] for r in EXPECTED[role]] and listed["total"] == len(EXPECTED[role])
    assert Caller(flavour, role)("GET", "/persons", 200, params={"showAll": True})["total"] == len(EXPECTED[role])


def test_shape(flavour: Flavour) -> None:
    listed = Caller(flavour, "sci_a")("GET", "/persons", 200)
    person = flavour.data.persons["sci_a"]
    assert listed == {
        "total": 1,
        "skip": 0,
        "limit": 25,
        "results": [{"personId": person, "givenName": "sci_a", "familyName": "Test", "_metadata": None}],
    }


def test_all_proposals_sees_everyone_with_a_login(flavour: Flavour) -> None:
    listed = Caller(flavour, "admin")("GET", "/persons", 200, params={"limit": 10_000})
    logins = select(func.count()).select_from(Person).where(Person.login.is_not(None))
    assert listed["total"] == flavour.run(factories.count, logins) == len(listed["results"])
    assert {flavour.data.persons[r] for r in ("sci_a", "sci_b", "nobody")} <= set(_ids(listed))


def test_by_proposal(flavour: Flavour) -> None:
    a, b = flavour.data.proposals["a"], flavour.data.proposals["b"]
    people = flavour.data.persons
    assert _ids(Caller(flavour, "admin")("GET", "/persons", 200, params={"proposal": a})) == [people["sci_a"]]
    assert _ids(Caller(flavour, "sci_a")("GET", "/persons", 200, params={"proposal": a})) == [people["sci_a"]]
    assert Caller(flavour, "sci_a")("GET", "/persons", 200, params={"proposal": b})["total"] == 0
    assert Caller(flavour, "staff")("GET", "/persons", 200, params={"proposal": b})["total"] == 0


async def _earlier_session(db: AsyncSession, proposal: int, person: int, sci_b: int) -> datetime:
    """An earlier session of proposal ``proposal`` with ``person`` on it, and ``sci_b`` added to the proposal."""
    start = datetime(2023, 5, 4, 9, 0)
    session = BLSession(proposalId=proposal, beamLineName="tb02", startDate=start, endDate=start)
    db.add(session)
    await db.flush()
    db.add_all(
        [
            SessionHasPerson(sessionId=session.sessionId, personId=person, role="Team Leader", remote=True),
            ProposalHasPerson(proposalId=proposal, personId=sci_b),
        ]
    )
    return start


def test_by_session_with_metadata(flavour: Flavour) -> None:
    people, sessions = flavour.data.persons, flavour.data.sessions
    sci_a = Caller(flavour, "sci_a")
    on_a = sci_a("GET", "/persons", 200, params={"sessionId": sessions["a"]})
    meta = {"sessions": 0, "lastSession": None, "role": "Co-Investigator", "remote": None}  # the factory writes NULL
    assert on_a["results"] == [
        {"personId": people["sci_a"], "givenName": "sci_a", "familyName": "Test", "_metadata": meta}
    ]
    start = flavour.run(_earlier_session, proposal_id(flavour, "a"), people["sci_a"], people["sci_b"])
    on_a = sci_a("GET", "/persons", 200, params={"sessionId": sessions["a"]})
    assert on_a["results"][0]["_metadata"] == meta | {"sessions": 1, "lastSession": start.isoformat()}
    # sci_b, now on proposal A, is seen by sci_a; the session B sci_a does not reach shows nobody
    assert _ids(sci_a("GET", "/persons", 200)) == [people["sci_a"], people["sci_b"]]
    assert sci_a("GET", "/persons", 200, params={"sessionId": sessions["b"]})["total"] == 0
    # staff of tb01 reach session A but not the earlier session on tb02: it is not counted for them
    staff = Caller(flavour, "staff")("GET", "/persons", 200, params={"sessionId": sessions["a"]})
    assert staff["results"][0]["_metadata"] == meta


@pytest.mark.parametrize(
    "params", [{"sessionId": 0}, {"sessionId": "x"}, {"proposal": "../x"}, {"limit": 0}, {"showAll": "maybe"}]
)
def test_bad_input_is_422(flavour: Flavour, params: dict[str, object]) -> None:
    Caller(flavour, "sci_a")("GET", "/persons", 422, params=params)


def test_unauthenticated(flavour: Flavour) -> None:
    assert flavour.client.get("/ispyb/api/v1/persons").status_code == 401
