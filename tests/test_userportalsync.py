"""The user-office sync (issue 13 part 1): py-ispyb's documents upserted, on both flavours."""

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Flavour
from tests.factories import count_at

API = "/ispyb/api/v1/webservices/userportalsync/sync_proposal"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "userportalsync" / "proposal.json"
PY_ISPYB = Path("/work/.mirror/ispyb+py-ispyb/repo")


def document() -> dict[str, Any]:
    """The example document made unique: its logins, proposal number, external ids and card names."""
    tag = uuid.uuid4().hex[:8]
    raw = EXAMPLE.read_text()
    for login in ("afournier", "jberg", "praman"):
        raw = raw.replace(f'"{login}"', f'"{login}{tag}"')
    doc: dict[str, Any] = json.loads(raw.replace("20260417", str(int(tag, 16))))
    base = int(tag[:6], 16) * 100
    for i, person in enumerate(doc["proposal"]["persons"]):
        person["externalId"] = base + i
    doc["proposal"]["labcontacts"][0]["person"]["externalId"] = base
    doc["proposal"]["labcontacts"][0]["cardName"] = f"IBS {tag}"
    for i, session in enumerate(doc["sessions"]):
        session["externalId"] = session["expSessionPk"] = base + 10 + i
    for i, protein in enumerate(doc["proteins"]):
        protein["externalId"] = base + 20 + i
        protein["acronym"] = f"{protein['acronym']}{tag}"[:45]
    for person in doc["proposal"]["persons"]:
        if "laboratory" in person:
            person["laboratory"]["name"] += f" {tag}"
            person["laboratory"]["laboratoryExtPk"] = int(tag[:6], 16) + len(person["laboratory"]["name"])
    return doc


def sync(flavour: Flavour, doc: dict[str, Any], status: int = 200, **params: Any) -> dict[str, Any]:
    r = flavour.client.post(API, json=doc, params=params, headers=flavour.token("office"))
    assert r.status_code == status, r.text
    answer: dict[str, Any] = r.json()
    return answer


def rows(flavour: Flavour, sql: str, **values: Any) -> list[dict[str, Any]]:
    async def read(db: AsyncSession) -> list[dict[str, Any]]:
        result = await db.execute(text(sql), values)
        return [dict(r) for r in result.mappings()] if isinstance(result, CursorResult) and result.returns_rows else []

    return flavour.run(read)


def proposal_rows(flavour: Flavour, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every row the document's proposal has, read with plain SQL."""
    p = doc["proposal"]
    (proposal,) = rows(
        flavour,
        "SELECT * FROM Proposal WHERE proposalCode = :c AND proposalNumber = :n",
        c=p["proposalCode"],
        n=p["proposalNumber"],
    )
    pid = proposal["proposalId"]
    return {
        "proposal": [proposal],
        "members": rows(
            flavour,
            "SELECT p.login FROM ProposalHasPerson h JOIN Person p USING (personId) WHERE proposalId = :p",
            p=pid,
        ),
        "sessions": rows(flavour, "SELECT * FROM BLSession WHERE proposalId = :p ORDER BY startDate", p=pid),
        "session_members": rows(
            flavour,
            "SELECT s.startDate, p.login, h.role, h.remote FROM Session_has_Person h JOIN BLSession s USING (sessionId)"
            " JOIN Person p USING (personId) WHERE s.proposalId = :p ORDER BY s.startDate, p.login",
            p=pid,
        ),
        "contacts": rows(
            flavour,
            "SELECT c.*, p.login FROM LabContact c JOIN Person p USING (personId) WHERE proposalId = :p",
            p=pid,
        ),
        "proteins": rows(
            flavour,
            "SELECT r.*, p.login FROM Protein r JOIN Person p USING (personId) WHERE proposalId = :p ORDER BY acronym",
            p=pid,
        ),
    }


def person_row(flavour: Flavour, login: str) -> dict[str, Any]:
    (row,) = rows(
        flavour,
        "SELECT p.*, l.name AS lab, l.city, l.country FROM Person p LEFT JOIN Laboratory l USING (laboratoryId)"
        " WHERE login = :l",
        l=login,
    )
    return row


def test_a_proposal_from_nothing(flavour: Flavour) -> None:
    doc = document()
    report = sync(flavour, doc)
    p = doc["proposal"]
    stored = proposal_rows(flavour, doc)
    (proposal,) = stored["proposal"]
    assert report["proposalId"] == proposal["proposalId"] and report["changed"] is True
    assert (proposal["title"], proposal["proposalType"]) == (p["title"], p["proposalType"])
    assert int.from_bytes(proposal["externalId"], "big") == p["externalId"]
    pi = person_row(flavour, p["persons"][0]["login"])
    assert proposal["personId"] == pi["personId"]
    for person in p["persons"]:
        row = person_row(flavour, person["login"])
        for key in ("givenName", "familyName", "emailAddress"):
            assert row[key] == person[key]
        assert int.from_bytes(row["externalId"], "big") == person["externalId"]
        lab = person.get("laboratory")
        assert (row["lab"], row["city"], row["country"]) == (
            (lab["name"], lab["city"], lab["country"]) if lab else (None,) * 3
        )
    assert sorted(m["login"] for m in stored["members"]) == sorted(x["login"] for x in p["persons"])
    sessions = stored["sessions"]
    assert [s["beamLineName"] for s in sessions] == [s["beamLineName"] for s in doc["sessions"]]
    assert [s["startDate"].isoformat() for s in sessions] == [s["startDate"] for s in doc["sessions"]]
    assert [int.from_bytes(s["externalId"], "big") for s in sessions] == [s["externalId"] for s in doc["sessions"]]
    assert [s["visit_number"] for s in sessions] == [1, 2]
    wanted = sorted(
        (s["startDate"], m["login"], m["session_options"]["role"], int(m["session_options"]["remote"]))
        for s in doc["sessions"]
        for m in s["persons"]
    )
    got = sorted((m["startDate"].isoformat(), m["login"], m["role"], m["remote"]) for m in stored["session_members"])
    assert got == wanted
    (contact,) = stored["contacts"]
    c = p["labcontacts"][0]
    assert (contact["cardName"], contact["login"], contact["dewarAvgCustomsValue"]) == (
        c["cardName"],
        p["persons"][0]["login"],
        c["dewarAvgCustomsValue"],
    )
    assert [(r["acronym"], r["name"], r["login"]) for r in stored["proteins"]] == sorted(
        (x["acronym"], x["name"], x["person"]["login"]) for x in doc["proteins"]
    )
    counts = {k: report[k] for k in ("persons", "laboratories", "proposal", "sessions", "labContacts", "proteins")}
    assert counts == {
        "persons": {"created": 3, "updated": 0, "unchanged": 0},
        "laboratories": {"created": 2, "updated": 0, "unchanged": 0},
        "proposal": {"created": 1, "updated": 0, "unchanged": 0},
        "sessions": {"created": 2, "updated": 0, "unchanged": 0},
        "labContacts": {"created": 1, "updated": 0, "unchanged": 0},
        "proteins": {"created": 2, "updated": 0, "unchanged": 0},
    }
    assert report["sessionMembers"]["added"] == len(wanted) and report["proposalMembers"]["added"] == 3
    if flavour.name == "dls":  # no BLSession.expSessionPk, no Laboratory.laboratoryExtPk: ignored and said so
        assert "sessions[0].expSessionPk" in report["ignored"]
        assert "proposal.persons[0].laboratory.laboratoryExtPk" in report["ignored"]


def test_the_same_document_again_writes_nothing(flavour: Flavour) -> None:
    doc = document()
    sync(flavour, doc)
    before = proposal_rows(flavour, doc)
    with flavour.statements() as seen:
        report = sync(flavour, doc)
    writes = [s for s in seen if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    assert report["changed"] is False
    assert report["persons"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert report["sessions"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert report["sessionMembers"]["unchanged"] == 3 and report["proposalMembers"]["unchanged"] == 3
    assert proposal_rows(flavour, doc) == before


def test_a_changed_document_changes_only_that(flavour: Flavour) -> None:
    doc = document()
    sync(flavour, doc)
    login = doc["proposal"]["persons"][1]["login"]
    rows(flavour, "UPDATE Person SET faxNumber = '+46 1' WHERE login = :l", l=login)  # set outside the document
    before = proposal_rows(flavour, doc)
    changed = copy.deepcopy(doc)
    changed["proposal"]["title"] = "A new title"
    changed["sessions"][1]["beamLineOperator"] = "Someone else"
    changed["sessions"][0]["persons"][1]["session_options"]["role"] = "Team Leader"
    with flavour.statements() as seen:
        report = sync(flavour, changed)
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 3 and not [s for s in seen if s.lstrip().upper().startswith(("INSERT", "DELETE"))]
    assert report["proposal"]["updated"] == 1 and report["sessions"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert report["sessionMembers"]["updated"] == 1 and report["persons"]["unchanged"] == 3
    after = proposal_rows(flavour, doc)
    assert after["proposal"][0] | {"title": None} == before["proposal"][0] | {"title": None}
    assert after["proposal"][0]["title"] == "A new title"
    assert after["sessions"][0] == before["sessions"][0]
    assert after["sessions"][1] == before["sessions"][1] | {"beamLineOperator": "Someone else"}
    assert after["proteins"] == before["proteins"] and after["contacts"] == before["contacts"]
    assert person_row(flavour, login)["faxNumber"] == "+46 1"


def test_a_broken_document_writes_nothing_and_lists_every_problem(flavour: Flavour) -> None:
    doc = document()
    doc["sessions"][1]["endDate"] = "2026-05-10T08:00:00"  # before its start
    doc["sessions"][1]["externalId"] = doc["sessions"][0]["externalId"]
    doc["proteins"][1]["acronym"] = doc["proteins"][0]["acronym"].lower()
    doc["proposal"]["persons"].append({"externalId": 99 * 10**12 + 1, "givenName": "No login"})
    problem = sync(flavour, doc, 422)
    paths = sorted(e["path"] for e in problem["errors"])
    assert paths == [
        "proposal.persons[3]",
        "proteins[1].acronym",
        "sessions[1].endDate",
        "sessions[1].externalId",
    ], problem
    logins = [x["login"] for x in doc["proposal"]["persons"] if "login" in x]
    assert (
        rows(flavour, f"SELECT COUNT(*) AS n FROM Person WHERE login IN ({','.join(map(repr, logins))})")[0]["n"] == 0
    )


def test_a_document_that_is_not_py_ispybs_schema(flavour: Flavour) -> None:
    doc = document()
    del doc["proposal"]["proposalNumber"]
    doc["sessions"][0]["beamLineName"] = "x" * 46
    doc["proposal"]["persons"][0].pop("login")
    doc["proposal"]["persons"][0].pop("externalId")
    doc["proteins"][0]["hazardGroup"] = 256
    r = flavour.client.post(API, json=doc, headers=flavour.token("office"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    where = sorted(tuple(map(str, e["loc"][1:])) for e in r.json()["detail"])
    assert where == [
        ("proposal", "persons", "0"),
        ("proposal", "proposalNumber"),
        ("proteins", "0", "hazardGroup"),
        ("sessions", "0", "beamLineName"),
    ]


@pytest.mark.parametrize(("role", "status"), [("sci_a", 403), ("staff", 403), ("admin", 403), (None, 401)])
def test_only_the_user_office_syncs(flavour: Flavour, role: str | None, status: int) -> None:
    doc = document()
    headers = flavour.token(role) if role else {}
    r = flavour.client.post(API, json=doc, headers=headers)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert (
        rows(
            flavour, "SELECT COUNT(*) AS n FROM Proposal WHERE proposalNumber = :n", n=doc["proposal"]["proposalNumber"]
        )[0]["n"]
        == 0
    )


def test_a_dry_run_reports_and_writes_nothing(flavour: Flavour) -> None:
    doc = document()
    dry = sync(flavour, doc, dryRun="true")
    assert dry["dryRun"] is True and dry["changed"] is True and dry["proposalId"] is None
    assert dry["persons"]["created"] == 3 and dry["sessions"]["created"] == 2
    number = doc["proposal"]["proposalNumber"]
    assert rows(flavour, "SELECT COUNT(*) AS n FROM Proposal WHERE proposalNumber = :n", n=number)[0]["n"] == 0
    real = sync(flavour, doc)
    assert {k: v for k, v in real.items() if k not in ("message", "dryRun", "proposalId")} == {
        k: v for k, v in dry.items() if k not in ("message", "dryRun", "proposalId")
    }
    changed = copy.deepcopy(doc)
    changed["proposal"]["title"] = "Dry"
    assert sync(flavour, changed, dryRun="true")["proposal"]["updated"] == 1
    assert proposal_rows(flavour, doc)["proposal"][0]["title"] == doc["proposal"]["title"]


def test_prune_removes_only_links(flavour: Flavour) -> None:
    doc = document()
    sync(flavour, doc)
    gone = doc["proposal"]["persons"].pop(2)
    doc["sessions"][0]["persons"].pop(1)
    kept = sync(flavour, doc)  # without prune: nothing removed
    assert kept["proposalMembers"]["removed"] == 0 and kept["changed"] is False
    pruned = sync(flavour, doc | {"prune": ["proposalMembers", "sessionMembers"]})
    assert pruned["proposalMembers"] == {"added": 0, "updated": 0, "removed": 1, "unchanged": 2}
    assert pruned["sessionMembers"]["removed"] == 1
    stored = proposal_rows(flavour, doc)
    assert sorted(m["login"] for m in stored["members"]) == sorted(x["login"] for x in doc["proposal"]["persons"])
    assert len(stored["session_members"]) == 2  # session 2 still has its member (its list was not changed)
    assert person_row(flavour, gone["login"])["personId"]  # the person row stays


def _py_ispyb_document(name: str) -> dict[str, Any]:
    """A py-ispyb test document (its Python module evaluated in isolation), or skip without the snapshot."""
    path = f"tests/core/api/data/userportalsync_{name}.py"
    shown = subprocess.run(["git", "-C", str(PY_ISPYB), "show", f"HEAD:{path}"], capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip("py-ispyb's snapshot is not on this machine")
    source = shown.stdout.split("\ntest_route_")[0].split("\n", 1)[1]  # the dict, without its test helpers
    found: dict[str, Any] = {}
    exec(source, {}, found)  # noqa: S102 - a literal dict of py-ispyb's own test data
    (doc,) = found.values()
    assert isinstance(doc, dict)
    return doc


def test_py_ispybs_example_documents(flavour: Flavour) -> None:
    create, update = _py_ispyb_document("create"), _py_ispyb_document("update")
    if flavour.name == "dls":  # both sessions have visit_number 0, which Diamond's BLSession keeps unique
        problem = sync(flavour, create, 422)
        assert [e["path"] for e in problem["errors"]] == ["sessions[1].visit_number"]
        return
    first = sync(flavour, create)
    assert first["sessions"]["created"] == 2 and first["persons"]["created"] >= 5
    second = sync(flavour, update)
    assert second["proposalId"] == first["proposalId"]


@pytest.mark.commits  # the command line's own process sees committed rows only
def test_cli_syncs_a_directory(flavour: Flavour, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "ispyb-hybrid")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": flavour.url,
        "COLUMNS": "200",
    }
    good, other, bad = document(), document(), document()
    bad["sessions"][0]["endDate"] = "2020-01-01T00:00:00"
    (tmp_path / "exports").mkdir()
    for name, doc in (("a.json", good), ("b.json", other), ("c.json", bad)):
        (tmp_path / "exports" / name).write_text(json.dumps(doc))
    done = subprocess.run(
        [cli, "sync-proposals", str(tmp_path / "exports")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "c.json" in done.stdout and "sessions[0].endDate" in done.stdout
    for doc, expected in ((good, 1), (other, 1), (bad, 0)):
        query = text("SELECT COUNT(*) FROM Proposal WHERE proposalNumber = :n").bindparams(
            n=doc["proposal"]["proposalNumber"]
        )
        assert flavour.client.portal.call(count_at, flavour.url, query) == expected  # type: ignore[union-attr]
    again = subprocess.run(
        [cli, "sync-proposals", "--dry-run", str(tmp_path / "exports" / "a.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "dry run" in again.stdout
