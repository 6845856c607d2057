"""Lab contacts in py-ispyb's own shape (`Person` with its `Laboratory`), stored and read back on both flavours."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import LabContact, Laboratory, Person
from tests import factories
from tests.conftest import Flavour
from tests.test_shipping import Caller, proposal_id, uid

LAB = {"name": "Lab of Tests", "address": "71 avenue des Martyrs", "city": "Grenoble", "country": "France"}


def _py_ispyb(pid: int, **lab: Any) -> dict[str, Any]:
    """The body py-ispyb's own tests send (tests/core/api/test_labcontacts.py), with a unique card name."""
    return {
        "proposalId": pid,
        "cardName": f"test card {uid()}",
        "dewarAvgCustomsValue": 100,
        "Person": {"givenName": "test person", "familyName": "last name", "Laboratory": LAB | lab},
    }


async def _stored(db: AsyncSession, contact_id: int) -> tuple[Person, Laboratory | None]:
    contact = await db.get(LabContact, contact_id)
    assert contact is not None
    person = await db.get(Person, contact.personId)
    assert person is not None
    return person, await db.get(Laboratory, person.laboratoryId) if person.laboratoryId else None


def test_py_ispyb_shape_with_a_laboratory(flavour: Flavour) -> None:
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    body = _py_ispyb(pid, url="https://lab.example", laboratoryExtPk=42)
    made = sci("POST", "/labcontacts", 201, json=body)
    lab = made["Person"]["Laboratory"]
    assert {k: lab[k] for k in LAB} == LAB and (lab["url"], lab["laboratoryExtPk"]) == ("https://lab.example", 42)
    assert made["dewarAvgCustomsValue"] == 100 and made["Person"]["givenName"] == "test person"
    assert sci("GET", f"/labcontacts/{made['labContactId']}", 200) == made
    listed = sci("GET", "/labcontacts", 200, params={"proposal": flavour.data.proposals["a"], "limit": 1000})
    assert made in listed["results"]
    person, laboratory = flavour.run(_stored, made["labContactId"])
    assert laboratory is not None and person.laboratoryId == lab["laboratoryId"] == laboratory.laboratoryId
    assert (laboratory.name, laboratory.city, laboratory.url) == (LAB["name"], LAB["city"], "https://lab.example")


def test_a_postcode_is_kept_where_the_database_has_the_column(flavour: Flavour) -> None:
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    body = _py_ispyb(pid, postcode="38000")
    labs = select(func.count()).select_from(Laboratory)
    before = flavour.run(factories.count, labs)
    if flavour.name == "dls":
        made = sci("POST", "/labcontacts", 201, json=body)
        assert made["Person"]["Laboratory"]["postcode"] == "38000"
        assert flavour.run(factories.count, labs) == before + 1
    else:
        refused = sci("POST", "/labcontacts", 422, json=body)
        assert "postcode" in refused["detail"]
        assert flavour.run(factories.count, labs) == before  # nothing half-written
        cards = select(func.count()).where(LabContact.cardName == body["cardName"])
        assert flavour.run(factories.count, cards) == 0


def test_a_contact_without_a_laboratory_reads_null_and_bad_laboratories_are_422(flavour: Flavour) -> None:
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    body = {"proposalId": pid, "cardName": f"card-{uid()}", "Person": {"givenName": "Ada", "familyName": "Lovelace"}}
    assert sci("POST", "/labcontacts", 201, json=body)["Person"]["Laboratory"] is None
    for lab in ({"name": "x"}, LAB | {"name": ""}, LAB | {"laboratoryId": 1}, LAB | {"city": "x" * 46}):
        body = _py_ispyb(pid) | {"Person": {"givenName": "A", "familyName": "B", "Laboratory": lab}}
        sci("POST", "/labcontacts", 422, json=body)
