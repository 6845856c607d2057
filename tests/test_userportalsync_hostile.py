"""The user-office sync attacked: texts the columns cannot keep, limits of each type, repeated and conflicting
people, a document of many rows, two syncs of the same new proposal at once. Never a 500, never half-written."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Flavour
from tests.test_userportalsync import API, document, person_row, rows, sync

#: the columns' character sets in each dump: Person is utf8mb4 (phoneNumber utf8mb3) in the official schema, latin1
#: in Diamond's
PERSON_KEEPS_CJK = {"official": True, "dls": False}


def test_texts_a_column_cannot_keep_are_named(flavour: Flavour) -> None:
    doc = document()
    doc["proposal"]["persons"][0]["familyName"] = "王小明"
    doc["proposal"]["persons"][1]["phoneNumber"] = "☎ 😀"  # beyond U+FFFF: neither utf8mb3 nor latin1
    doc["sessions"][0]["beamLineOperator"] = "Zoë – “Ops” €"  # cp1252: MariaDB's latin1 keeps it
    answer = sync(flavour, doc, 422)
    expected = ["proposal.persons[1].phoneNumber"]
    if not PERSON_KEEPS_CJK[flavour.name]:
        expected.insert(0, "proposal.persons[0].familyName")
    assert [e["path"] for e in answer["errors"]] == expected
    doc["proposal"]["persons"][1]["phoneNumber"] = "+33 1"
    if PERSON_KEEPS_CJK[flavour.name]:
        sync(flavour, doc)
        assert person_row(flavour, doc["proposal"]["persons"][0]["login"])["familyName"] == "王小明"
        (session,) = rows(flavour, "SELECT beamLineOperator FROM BLSession WHERE beamLineOperator LIKE 'Zo%Ops%'")
        assert session["beamLineOperator"] == "Zoë – “Ops” €"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("proposal", "externalId"), 2**128),
        (("proposal", "externalId"), -1),
        (("sessions", 0, "nbShifts"), 2**32),
        (("sessions", 0, "structureDeterminations"), 1e39),
        (("proteins", 0, "molecularMass"), "NaN"),
        (("proposal", "title"), "t" * 100_000),
        (("proposal", "proposalCode"), ""),
        (("sessions", 0, "startDate"), "0999-01-01T00:00:00"),
        (("sessions", 0, "lastUpdate"), "2040-01-01T00:00:00"),
        (("proposal", "persons"), []),
        (("proposal", "persons", 0, "login"), ""),
        (("sessions", 0, "persons", 0, "session_options", "role"), "Boss"),
    ],
)
def test_limits_are_refused_with_their_path(flavour: Flavour, where: tuple[Any, ...], value: Any) -> None:
    doc = document()
    target: Any = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    r = flavour.client.post(API, json=doc, headers=flavour.token("office"))
    assert r.status_code == 422, r.text
    locations = [tuple(e["loc"][1:]) for e in r.json()["detail"]]
    assert any(loc[: len(where)] == where for loc in locations), locations
    n = rows(
        flavour, "SELECT COUNT(*) AS n FROM Proposal WHERE proposalNumber = :n", n=doc["proposal"]["proposalNumber"]
    )
    assert n[0]["n"] == 0


def test_one_person_told_two_ways(flavour: Flavour) -> None:
    doc = document()
    first = doc["proposal"]["persons"][0]
    doc["proteins"][0]["person"] = dict(first, familyName="Other", laboratory=dict(first["laboratory"], city="Lyon"))
    doc["sessions"][1]["persons"].append(dict(doc["sessions"][1]["persons"][0]))  # twice in one session
    doc["proposal"]["labcontacts"].append({"cardName": "second card", "person": {"login": first["login"]}})
    answer = sync(flavour, doc, 422)
    # the official schema matches the laboratory by laboratoryExtPk (the same laboratory in another city), Diamond's
    # by name and city (another laboratory for the same person)
    lab = {"official": "proteins[0].person.laboratory.city", "dls": "proteins[0].person.laboratory"}[flavour.name]
    assert sorted(e["path"] for e in answer["errors"]) == sorted(
        ["proposal.labcontacts[1].person", "proteins[0].person.familyName", lab, "sessions[1].persons[1]"]
    )


def test_keys_no_column_takes_are_reported_not_refused(flavour: Flavour) -> None:
    doc = document()
    doc["proposal"]["$where"] = "1"
    doc["proposal"]["persons"][0]["a.b"] = {"nested": [1, 2]}
    doc["future"] = {"x": 1}
    r = flavour.client.post(API, json=doc, headers=flavour.token("office"))
    assert r.status_code == 200, r.text
    assert {"future", "proposal.$where", "proposal.persons[0].a.b"} <= set(r.json()["ignored"])
    assert "proposal.$where" in r.headers["Warning"]


def test_more_rows_than_a_batch(flavour: Flavour) -> None:
    """300 members, 120 sessions of 40 members, 200 proteins: all stored, and a second sync changes nothing."""
    doc = document()
    tag = doc["proposal"]["proposalNumber"]
    people = [{"login": f"m{tag}_{i}", "familyName": f"F{i}"} for i in range(300)]
    doc["proposal"]["persons"] += people
    doc["sessions"] = [
        {
            "externalId": int(tag) * 1000 + k,
            "expSessionPk": (int(tag) * 1000 + k) % 2**32,
            "visit_number": k + 1,
            "startDate": "2026-01-01T08:00:00",
            "endDate": "2026-01-02T08:00:00",
            "persons": [{"login": p["login"], "session_options": {"remote": k % 2 == 0}} for p in people[k : k + 40]],
        }
        for k in range(120)
    ]
    doc["proteins"] = [{"acronym": f"A{tag}_{k}", "person": {"login": people[k]["login"]}} for k in range(200)]
    first = sync(flavour, doc)
    assert first["persons"]["created"] == 303 and first["sessions"]["created"] == 120
    assert first["sessionMembers"]["added"] == 120 * 40 and first["proteins"]["created"] == 200
    pid = first["proposalId"]
    links = rows(
        flavour,
        "SELECT COUNT(*) AS n, SUM(remote) AS r FROM Session_has_Person JOIN BLSession USING (sessionId)"
        " WHERE proposalId = :p",
        p=pid,
    )[0]
    assert (links["n"], int(links["r"])) == (4800, 60 * 40)
    again = sync(flavour, doc)
    assert again["changed"] is False and again["sessionMembers"]["unchanged"] == 4800


@pytest.mark.commits  # two requests at once, each its own transaction
def test_two_syncs_of_a_new_proposal_at_once(flavour: Flavour) -> None:
    doc = document()
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: flavour.client.post(API, json=doc, headers=flavour.token("office")), [0, 1]))
    statuses = sorted(r.status_code for r in answers)
    assert statuses in ([200, 200], [200, 409], [200, 503]), [r.text for r in answers]
    if statuses != [200, 200]:  # the loser was told to retry: its retry changes nothing
        assert sync(flavour, doc)["changed"] is False
    number = doc["proposal"]["proposalNumber"]
    assert rows(flavour, "SELECT COUNT(*) AS n FROM Proposal WHERE proposalNumber = :n", n=number)[0]["n"] == 1
    for person in doc["proposal"]["persons"]:
        assert rows(flavour, "SELECT COUNT(*) AS n FROM Person WHERE login = :l", l=person["login"])[0]["n"] == 1
    pid = rows(flavour, "SELECT proposalId FROM Proposal WHERE proposalNumber = :n", n=number)[0]["proposalId"]
    assert rows(flavour, "SELECT COUNT(*) AS n FROM BLSession WHERE proposalId = :p", p=pid)[0]["n"] == 2
    assert rows(flavour, "SELECT COUNT(*) AS n FROM ProposalHasPerson WHERE proposalId = :p", p=pid)[0]["n"] == 3
