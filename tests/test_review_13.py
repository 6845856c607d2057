"""Issue 13 under attack (review 13): each test here failed before the fix it names."""

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from documents import logbook
from documents.scope import NOTHING, one_session
from schemas.times import from_sql
from tests.conftest import Flavour
from tests.test_embedded import CLI
from tests.test_shipping import Caller
from tests.test_timeline import entry, insert, proposal_id, stored_result
from tests.test_userportalsync import document, rows, sync


def test_one_session_is_a_flat_filter_of_what_the_caller_reaches() -> None:
    assert one_session(None, (), 7, 70, "sessionId") == {"proposalId": 7, "sessionId": 70}
    assert one_session({7}, (), 7, 70, "sessionIds") == {"proposalId": 7, "sessionIds": 70}
    assert one_session({8}, {70}, 7, 70, "sessionId") == {"proposalId": 7, "sessionId": 70}
    assert one_session({8}, {71}, 7, 70, "sessionId") == NOTHING
    assert one_session(set(), (), 7, 70, "sessionId") == NOTHING


def test_a_timeline_shows_only_documents_of_its_sessions_proposal(flavour: Flavour) -> None:
    """Documents naming session A but proposal B (written by hand, or by a buggy pipeline) are proposal B's: A's
    timeline shows neither B's entry nor B's result (the timeline scoped its reads by the session alone)."""
    f = flavour
    when = datetime(2024, 3, 1, 12, tzinfo=UTC)
    mine, foreign = entry(f, "a", when, "mine"), entry(f, "a", when + timedelta(seconds=1), "foreign")
    foreign["proposalId"] = proposal_id(f, "b")
    result = stored_result(f, "a", when) | {"proposalId": proposal_id(f, "b")}
    insert(f, "logbook", [mine, foreign])
    insert(f, "results", [result])
    for role in ("sci_a", "admin"):
        page = Caller(f, role)("GET", f"/sessions/{f.data.sessions['a']}/timeline", 200, params={"limit": 1000})
        shown = {e["id"] for e in page["results"] if e["type"] in ("logbook", "result")}
        assert shown == {mine["entryId"]}, role


def test_a_sync_never_renames_a_proposal_onto_another(flavour: Flavour) -> None:
    """A document whose externalId is proposal P's but whose code and number are proposal Q's names two proposals:
    it must not give P Q's name (two proposals called the same: every lookup by name picks one at random)."""
    first, second = document(), document()
    sync(flavour, first)
    sync(flavour, second)
    clash = copy.deepcopy(second)
    clash["proposal"]["externalId"] = first["proposal"]["externalId"]
    answer = sync(flavour, clash, 422)
    assert "proposal.externalId" in [e["path"] for e in answer["errors"]]
    for doc in (first, second):
        p = doc["proposal"]
        named = rows(flavour, "SELECT proposalId FROM Proposal WHERE proposalCode = :c AND proposalNumber = :n",
                     c=p["proposalCode"], n=p["proposalNumber"])  # fmt: skip
        assert len(named) == 1


def test_a_finished_sessions_logbook_is_read_back_from_its_end(flavour: Flavour, monkeypatch: MonkeyPatch) -> None:
    """A session's first page reads its time windows back from the session's end: from now, a session that ended
    years ago had all its entries in the last, unbounded window (sorted whole by the store: 1.6 s at 2x10^4
    entries, a 504 at 4x10^4); from its end, the first windows hold them."""
    f, a = flavour, flavour.data.sessions["a"]
    end = rows(f, "SELECT endDate FROM BLSession WHERE sessionId = :s", s=a)[0]["endDate"]
    anchors: list[datetime] = []
    windows = logbook._windows

    def spied(anchor: datetime, since: datetime | None) -> Iterator[dict[str, Any]]:
        anchors.append(anchor)
        return windows(anchor, since)

    monkeypatch.setattr(logbook, "_windows", spied)
    sci_a = Caller(f, "sci_a")
    made = [sci_a("POST", "/logbook", 201, json={"sessionId": a, "text": f"n{n}",
                                                  "time": (from_sql(end) - timedelta(hours=n)).isoformat()})
            for n in (-2, 0, 3, 24 * 400)]  # fmt: skip
    page = sci_a("GET", "/logbook", 200, params={"sessionId": a, "limit": 10})
    assert [e["entryId"] for e in page["results"]] == [e["entryId"] for e in made]
    assert anchors == [from_sql(end)]


def test_an_unchanged_sync_changes_nothing_on_the_embedded_sqlite(tmp_path: Path) -> None:
    """SQLite keeps times as text: read untyped, a session's startDate never equalled the document's, so every
    sync of an unchanged document updated its sessions (and said it changed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}
    env |= {"ISPYB_MODE": "embedded", "ISPYB_SQL_URL": f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"}
    doc = tmp_path / "proposal.json"
    doc.write_text(json.dumps(document()))

    def synced() -> list[str]:
        run = subprocess.run([CLI, "sync-proposals", str(doc)], cwd=tmp_path, env=env | {"COLUMNS": "200"},
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        (line,) = [row for row in run.stdout.splitlines() if "proposal.json" in row]
        return [cell.strip() for cell in line.strip("│ ").split("│")]

    assert synced()[2:] == ["yes", "+3 ~0", "+2 ~0", "+6 -0", "+2 ~0"]
    assert synced()[2:] == ["no", "+0 ~0", "+0 ~0", "+0 -0", "+0 ~0"]


def test_a_written_entry_answers_what_a_read_gives(flavour: Flavour) -> None:
    """The store keeps milliseconds: POST and PATCH answered createdAt with microseconds that no read gives back."""
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    made = sci_a("POST", "/logbook", 201, json={"sessionId": a, "text": "first"})
    corrected = sci_a("PATCH", f"/logbook/{made['entryId']}", 200, json={"text": "second"})
    read = sci_a("GET", f"/logbook/{made['entryId']}", 200)
    assert read["versions"] == [made | {"latest": False}, corrected]
