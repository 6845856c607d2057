"""The edits py-ispyb-ui's sample, protein and lab-contact pages make: deleting a sample nothing refers to,
changing a protein, changing a lab contact one field at a time (py-ispyb's nesting), on both flavours, scoped like
the creations (out of reach: 404, and nothing changes)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import BLSample, LabContact, Laboratory, Person, Protein
from tests import factories
from tests.conftest import Flavour
from tests.test_labcontacts import LAB
from tests.test_samples import API, embedded  # noqa: F401 (a fixture)
from tests.test_shipping import Caller, proposal_id, uid


def _new_sample(f: Flavour, role: str = "sci_a", key: str = "a") -> int:
    body = {"name": f"s-{uid()}", "Crystal": {"proteinId": f.data.proteins[key]}}
    return int(Caller(f, role)("POST", "/samples", 201, json=body)["blSampleId"])


def _exists(f: Flavour, sample_id: int) -> bool:
    return f.run(factories.count, select(func.count()).where(BLSample.blSampleId == sample_id)) == 1


def test_a_sample_nothing_refers_to_is_deleted(flavour: Flavour) -> None:
    sample = _new_sample(flavour)
    sci = Caller(flavour, "sci_a")
    assert sci("DELETE", f"/samples/{sample}", 204).content == b""
    assert not _exists(flavour, sample)
    sci("GET", f"/samples/{sample}", 404)
    sci("DELETE", f"/samples/{sample}", 404)


@pytest.mark.parametrize("role", ["sci_b", "nobody"])
def test_a_sample_out_of_reach_is_404_and_kept(flavour: Flavour, role: str) -> None:
    """Who may delete is who may change it (its proposal's members, staff of its sessions' beamlines)."""
    sample = _new_sample(flavour)
    Caller(flavour, role)("DELETE", f"/samples/{sample}", 404)
    assert _exists(flavour, sample)


async def _attach_subsample(db: AsyncSession, sample_id: int) -> None:
    await factories.insert(db, "INSERT INTO BLSubSample (blSampleId) VALUES (:s)", s=sample_id)


def test_a_sample_with_dependants_is_refused_not_emptied(flavour: Flavour) -> None:
    """The test data's samples have collections and robot actions (which would cascade): 409 names them."""
    sci, collected = Caller(flavour, "sci_a"), flavour.data.samples["a"]
    refused = sci("DELETE", f"/samples/{collected}", 409)
    assert refused["detail"] == (
        f"Sample {collected} has data collection groups, data collections, robot actions: it is kept "
        "(remove those first)"
    )
    assert _exists(flavour, collected) and sci("GET", f"/samples/{collected}", 200)["_metadata"]["datacollections"] == 2
    fresh = _new_sample(flavour)
    flavour.run(_attach_subsample, fresh)
    refused = sci("DELETE", f"/samples/{fresh}", 409)
    assert refused["detail"] == f"Sample {fresh} has sub samples: it is kept (remove those first)"
    assert _exists(flavour, fresh)


def test_a_protein_changes_within_the_creation_rules(flavour: Flavour) -> None:
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    acronym = f"p{uid()}"
    made = sci("POST", "/proteins", 201, json={"proposalId": pid, "acronym": acronym, "name": "before"})
    path = f"/proteins/{made['proteinId']}"
    changed = sci("PATCH", path, 200, json={"name": "after", "molecularMass": 12.5})
    assert changed == made | {"name": "after", "molecularMass": 12.5}
    assert sci("GET", path, 200) == changed
    assert sci("PATCH", path, 200, json={"acronym": acronym}) == changed  # its own acronym is not a clash
    clash = sci("PATCH", path, 409, json={"acronym": "prota"})
    assert clash["detail"] == f"Proposal {pid} already has a protein `prota` ({flavour.data.proteins['a']})"
    for bad in ({"acronym": None}, {"acronym": "a b"}, {"proposalId": 1}, {"molecularMass": 0}, {"sequence": "12"}):
        sci("PATCH", path, 422, json=bad)
    for role in ("sci_b", "nobody"):
        Caller(flavour, role)("PATCH", path, 404, json={"name": "theirs"})
    stored = flavour.run(
        factories.count, select(func.count()).where(Protein.name == "after", Protein.acronym == acronym)
    )
    assert stored == 1 and sci("GET", path, 200) == changed


def _contact(f: Flavour, person: dict[str, Any]) -> dict[str, Any]:
    body = {"proposalId": proposal_id(f, "a"), "cardName": f"card-{uid()}", "Person": person}
    return dict(Caller(f, "sci_a")("POST", "/labcontacts", 201, json=body))


async def _stored(db: AsyncSession, contact_id: int) -> tuple[LabContact, Person, Laboratory | None]:
    contact = await db.get(LabContact, contact_id)
    assert contact is not None
    person = await db.get(Person, contact.personId)
    assert person is not None
    return contact, person, await db.get(Laboratory, person.laboratoryId) if person.laboratoryId else None


def test_a_lab_contact_changes_one_field_at_a_time(flavour: Flavour) -> None:
    """As the UI's view page sends them: ``{field: value}``, nested for the person and their laboratory."""
    sci = Caller(flavour, "sci_a")
    made = _contact(flavour, {"givenName": "Ada", "familyName": "Lovelace", "Laboratory": LAB})
    path = f"/labcontacts/{made['labContactId']}"
    steps: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"cardName": "renamed " + uid()}, {}),
        ({"dewarAvgCustomsValue": 250}, {}),
        ({"courierAccount": None}, {}),
        ({"Person": {"emailAddress": "ada@lab.example"}}, {"Person": {"emailAddress": "ada@lab.example"}}),
        ({"Person": {"Laboratory": {"city": "Lyon"}}}, {"Person": {"Laboratory": {"city": "Lyon"}}}),
    ]
    expected = made
    for body, nested in steps:
        expected = expected | {k: v for k, v in body.items() if k != "Person"}
        if "Person" in nested:
            person = expected["Person"] | {k: v for k, v in nested["Person"].items() if k != "Laboratory"}
            if "Laboratory" in nested["Person"]:
                person["Laboratory"] = person["Laboratory"] | nested["Person"]["Laboratory"]
            expected = expected | {"Person": person}
        assert sci("PATCH", path, 200, json=body) == expected
    assert sci("GET", path, 200) == expected
    contact, person, lab = flavour.run(_stored, made["labContactId"])
    assert (contact.cardName, contact.dewarAvgCustomsValue, person.emailAddress) == (
        expected["cardName"],
        250,
        "ada@lab.example",
    )
    assert lab is not None and (lab.city, lab.name) == ("Lyon", LAB["name"])


def test_lab_contact_changes_refused(flavour: Flavour) -> None:
    sci = Caller(flavour, "sci_a")
    made = _contact(flavour, {"givenName": "Ada", "familyName": "Lovelace"})
    path = f"/labcontacts/{made['labContactId']}"
    other = _contact(flavour, {"givenName": "B", "familyName": "C"})
    assert sci("PATCH", path, 409, json={"cardName": other["cardName"]})["detail"].startswith("Proposal ")
    assert sci("PATCH", path, 409, json={"Person": {"Laboratory": {"city": "x"}}})["detail"] == (
        f"Person {made['Person']['personId']} has no laboratory to change"
    )
    for bad in (
        {"cardName": None},
        {"proposalId": 1},
        {"Person": {"givenName": "Eve"}},
        {"Person": {"emailAddress": "not an address"}},
        {"Person": {"Laboratory": {"laboratoryExtPk": 3}}},
        {"dewarAvgCustomsValue": -1},
    ):
        sci("PATCH", path, 422, json=bad)
    # an account's details are the user office's: a contact for an existing login-holding person
    account = {
        "proposalId": proposal_id(flavour, "a"),
        "cardName": f"acct-{uid()}",
        "personId": flavour.data.persons["sci_a"],
    }
    acct = sci("POST", "/labcontacts", 201, json=account)
    refused = sci("PATCH", f"/labcontacts/{acct['labContactId']}", 409, json={"Person": {"phoneNumber": "1"}})
    assert (
        refused["detail"]
        == f"Person {flavour.data.persons['sci_a']} has an account: their details are the user office's"
    )
    for role in ("sci_b", "nobody"):
        Caller(flavour, role)("PATCH", path, 404, json={"cardName": "theirs"})
    assert sci("GET", path, 200) == made


def test_a_shared_laboratory_is_not_changed_through_one_contact(flavour: Flavour) -> None:
    sci = Caller(flavour, "sci_a")
    made = _contact(flavour, {"givenName": "Ada", "familyName": "Lovelace", "Laboratory": LAB})
    lab_id = made["Person"]["Laboratory"]["laboratoryId"]
    flavour.run(_colleague, lab_id)
    refused = sci("PATCH", f"/labcontacts/{made['labContactId']}", 409, json={"Person": {"Laboratory": {"city": "x"}}})
    assert refused["detail"] == f"Laboratory {lab_id} is shared by 1 other persons: changing it would change theirs"
    assert sci("GET", f"/labcontacts/{made['labContactId']}", 200) == made


async def _colleague(db: AsyncSession, lab_id: int) -> None:
    db.add(Person(givenName="Colleague", familyName="Test", laboratoryId=lab_id))
    await db.flush()


def test_the_new_routes_on_the_embedded_database(
    embedded: tuple[TestClient, factories.Dataset],  # noqa: F811 (the fixture imported above)
) -> None:
    """SQLite has none of the tables only ISPyB's dumps hold: the checks skip them, the lists are empty."""
    client, data = embedded
    token = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": "sci_a_embedded"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    empty = {"total": 0, "skip": 0, "limit": 25, "results": []}
    assert client.get(f"{API}/samples/sub", headers=auth).json() == empty
    assert client.get(f"{API}/samples/components", headers=auth).json() == empty
    assert client.get(f"{API}/samples/concentration/types", headers=auth).json() == []
    refused = client.delete(f"{API}/samples/{data.samples['a']}", headers=auth)
    assert refused.status_code == 409 and "data collection groups" in refused.json()["detail"]
    body = {"name": "fresh", "Crystal": {"proteinId": data.proteins["a"]}}
    fresh = client.post(f"{API}/samples", json=body, headers=auth).json()["blSampleId"]
    assert client.delete(f"{API}/samples/{fresh}", headers=auth).status_code == 204
    assert client.get(f"{API}/samples/{fresh}", headers=auth).status_code == 404


def _ui_crystal(f: Flavour, key: str = "a") -> dict[str, Any]:
    """The crystal py-ispyb-ui's new-sample dialog sends: the one it picked, as it read it."""
    protein = {"proteinId": f.data.proteins[key], "proposalId": 1, "name": "protein", "acronym": f"prot{key}"}
    cell = {f"cell_{x}": None for x in ("a", "b", "c", "alpha", "beta", "gamma")}
    return {"crystalId": 1, "spaceGroup": "P21", "space_group": "P21", **cell, "Protein": protein}


def test_the_ui_new_sample_dialog_creates_a_sample_with_a_crystal_of_its_own(flavour: Flavour) -> None:
    sci = Caller(flavour, "sci_a")
    created = sci("POST", "/samples", 201, json={"name": f"ui-{uid()}", "Crystal": _ui_crystal(flavour)})
    sample = sci("GET", f"/samples/{created['blSampleId']}", 200)
    assert sample["Crystal"]["Protein"]["proteinId"] == flavour.data.proteins["a"]
    assert sample["Crystal"]["spaceGroup"] == "P21"
    assert sample["Crystal"]["crystalId"] != 1
    sci("POST", "/samples", 404, json={"name": f"ui-{uid()}", "Crystal": _ui_crystal(flavour, "b")})


@pytest.mark.parametrize(
    "crystal",
    [
        {"spaceGroup": "P21"},  # no protein at all
        {"proteinId": 1, "Protein": {"proteinId": 2}},  # two different proteins
        {"proteinId": 1, "unknown": 1},  # still strict about keys it does not know
    ],
)
def test_a_new_sample_names_its_protein_once(flavour: Flavour, crystal: dict[str, Any]) -> None:
    Caller(flavour, "sci_a")("POST", "/samples", 422, json={"name": f"ui-{uid()}", "Crystal": crystal})


def test_the_ui_samples_editor_saves_the_sample_it_read(flavour: Flavour) -> None:
    """The editor sends the sample back as it read it (Crystal, Container, _metadata, the protocol with its id)."""
    sci = Caller(flavour, "sci_a")
    sample_id = _new_sample(flavour)
    read = sci("GET", f"/samples/{sample_id}", 200)
    plan = (read.get("DiffractionPlan") or {}) | {"diffractionPlanId": 999, "comments": "from the UI"}
    name = f"renamed-{uid()}"
    sci("PATCH", f"/samples/{sample_id}", 200, json=read | {"name": name, "DiffractionPlan": plan})
    again = sci("GET", f"/samples/{sample_id}", 200)
    assert (again["name"], again["DiffractionPlan"]["comments"]) == (name, "from the UI")
    assert again["DiffractionPlan"]["diffractionPlanId"] != 999


@pytest.mark.parametrize("field", ["dewarAvgCustomsValue", "dewarAvgTransportValue", "cardName"])
def test_a_lab_contact_keeps_its_not_null_columns(flavour: Flavour, field: str) -> None:
    """Schemathesis found a null for a NOT NULL column answering 500: refused with the body, before any lookup."""
    answer = Caller(flavour, "staff")("PATCH", "/labcontacts/1", 422, json={field: None})
    assert field in answer["detail"][0]["msg"]
