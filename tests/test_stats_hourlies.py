"""py-ispyb's /stats/hourlies and /stats/errors: exact values on data the test writes, within the caller's reach."""

import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.files import paths
from relational.models import DataCollection, DataCollectionGroup, RobotAction
from relational.models.analysis import DataCollectionFileAttachment
from tests import factories
from tests.conftest import Flavour
from tests.test_shipping import API, Caller

DAY2 = datetime(2024, 3, 2)
ZERO = [0.0] * 24


async def _more(db: AsyncSession, session: int) -> None:
    """On session A's second day: a SAD group (aborted at 09:30, failed at 10:00, no status at 10:30), one load
    at 10:05 and an unload (not counted). The data set has two successful OSC collections at 09:00 and 09:10 on
    day one and a LOAD at 08:50."""
    group = DataCollectionGroup(sessionId=session, experimentType="SAD", startTime=DAY2)
    db.add(group)
    await db.flush()
    for minute, status in ((9 * 60 + 30, "Data collection aborted"), (600, "Failure"), (630, None)):
        start = DAY2.replace(hour=minute // 60, minute=minute % 60)
        db.add(DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, startTime=start, runStatus=status))
    for action, minute in (("load", 5), ("UNLOAD", 6)):
        start = DAY2.replace(hour=10, minute=minute)
        db.add(RobotAction(blsessionId=session, actionType=action, startTimestamp=start, endTimestamp=start))


def _series(values: dict[int, float]) -> dict[str, list[Any]]:
    return {"hour": list(range(24)), "average": [values.get(h, 0.0) for h in range(24)]}


HOURLIES = {"datacollections": _series({9: 1.5, 10: 2.0}), "loaded": _series({8: 1.0, 10: 1.0})}
ERRORS = {
    "totals": [
        {
            "experimentType": "OSC",
            "total": 2,
            "failed": 0,
            "failedPercent": 0.0,
            "aborted": 0,
            "abortedPercent": 0.0,
            "messages": [],
        },
        {
            "experimentType": "SAD",
            "total": 3,
            "failed": 1,
            "failedPercent": 33.3,
            "aborted": 1,
            "abortedPercent": 33.3,
            "messages": [],
        },
    ]
}
EMPTY: tuple[dict[str, Any], dict[str, Any]] = ({"datacollections": _series({}), "loaded": _series({})}, {"totals": []})


def _both(f: Flavour, role: str, params: dict[str, Any]) -> tuple[Any, Any]:
    call = Caller(f, role)
    return call("GET", "/stats/hourlies", 200, params=params), call("GET", "/stats/errors", 200, params=params)


def test_before_the_test_data(flavour: Flavour) -> None:
    hourlies, errors = _both(flavour, "sci_a", {"sessionId": flavour.data.sessions["a"]})
    assert hourlies == {"datacollections": _series({9: 2.0}), "loaded": _series({8: 1.0})}
    assert errors["totals"][0] | {"experimentType": "OSC"} == ERRORS["totals"][0]
    assert len(errors["totals"]) == 1


@pytest.mark.parametrize(
    ("role", "params", "seen"),
    [
        ("sci_a", {"sessionId": "a"}, True),
        ("sci_a", {"session": "a-1"}, True),
        ("sci_a", {"proposal": "a"}, True),
        ("staff", {"beamLineName": "tb01", "startDate": "2024-03-01T00:00:00"}, True),
        ("admin", {"beamLineName": "tb01", "startDate": "2024-03-01", "endDate": "2024-03-01T08:00:01"}, True),
        ("admin", {"beamLineName": "tb01", "startDate": "2024-03-01", "endDate": "2024-03-01T08:00:00"}, False),
        ("sci_b", {"sessionId": "a"}, False),
        ("sci_b", {"proposal": "a"}, False),
        ("sci_b", {"beamLineName": "tb01", "startDate": "2024-01-01"}, False),
        ("nobody", {"session": "a-1"}, False),
        ("staff", {"beamLineName": "tb02", "startDate": "2024-01-01"}, False),
    ],
)
def test_values_and_reach(flavour: Flavour, role: str, params: dict[str, str], seen: bool) -> None:
    flavour.run(_more, flavour.data.sessions["a"])
    named = {
        k: flavour.data.sessions["a"]
        if k == "sessionId"
        else flavour.data.proposals["a"] + "-1"
        if k == "session"
        else flavour.data.proposals["a"]
        if k == "proposal"
        else v
        for k, v in params.items()
    }
    assert _both(flavour, role, named) == ((HOURLIES, ERRORS) if seen else EMPTY)


def test_a_run(flavour: Flavour) -> None:
    """Diamond's runs (v_run) give a window of dates; the official schema has none: every run is unknown."""
    flavour.run(_more, flavour.data.sessions["a"])
    sci = Caller(flavour, "staff")
    if flavour.name == "official":
        sci("GET", "/stats/hourlies", 404, params={"beamLineName": "tb01", "runId": 1})
        return

    query = "INSERT INTO v_run (run, startDate, endDate) VALUES ('2024-t', '2024-02-28', '2024-03-05')"
    run_id = flavour.run(factories.insert, query)
    assert _both(flavour, "staff", {"beamLineName": "tb01", "runId": run_id}) == (HOURLIES, ERRORS)
    assert _both(flavour, "sci_b", {"beamLineName": "tb01", "runId": run_id}) == EMPTY
    sci("GET", "/stats/errors", 404, params={"beamLineName": "tb01", "runId": 4294967295})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"beamLineName": "tb01"},
        {"runId": 1},
        {"sessionId": 0},
        {"sessionId": 2**32},
        {"session": "nope"},
        {"proposal": "../x"},
        {"beamLineName": "tb01", "startDate": "yesterday"},
        {"beamLineName": "x" * 46, "runId": 1},
    ],
)
def test_bad_input_is_422(flavour: Flavour, params: dict[str, object]) -> None:
    for path in ("/stats/hourlies", "/stats/errors"):
        Caller(flavour, "sci_a")("GET", path, 422, params=params)


def test_unauthenticated(flavour: Flavour) -> None:
    for path in ("/stats/hourlies", "/stats/errors"):
        assert flavour.client.get(API + path, params={"sessionId": 1}).status_code == 401


async def _logged(db: AsyncSession, session: int, logs: list[tuple[str | None, str]]) -> None:
    """A SAD collection per (run status, error log path) in session ``session``, each log attached, in order."""
    group = DataCollectionGroup(sessionId=session, experimentType="SAD", startTime=DAY2)
    db.add(group)
    await db.flush()
    for status, path in logs:
        dc = DataCollection(dataCollectionGroupId=group.dataCollectionGroupId, startTime=DAY2, runStatus=status)
        db.add(dc)
        await db.flush()
        db.add(DataCollectionFileAttachment(dataCollectionId=dc.dataCollectionId, fileFullPath=path, fileType="log"))
        await db.flush()


def test_error_messages_from_the_logs(flavour: Flavour, data_dir: Path, tmp_path: Path) -> None:
    """The last line of each failed collection's error log, similar ones counted together (the newest's words),
    most frequent first; aborted collections, logs without "err", outside the data roots, FIFOs, missing or
    empty files give none."""
    files = {
        "a_err.log": "start\nERROR: detector timeout after 30 s\n",
        "b_err.log": "ERROR: detector timeout after 31 s\n\n",
        "c_err.log": "x" * 5000 + "\nBeam lost\n",
        "d_err.log": "Aborted by user\n",
        "e.log": "not an error log\n",
        "g_err.log": "",
    }
    for name, content in files.items():
        (data_dir / name).write_text(content)
    os.mkfifo(data_dir / "f_err.log")
    (tmp_path / "outside_err.log").write_text("secret\n")
    failure = "Failure"
    logs: list[tuple[str | None, str]] = [
        (failure, str(data_dir / "a_err.log")),
        (failure, str(data_dir / "c_err.log")),
        (failure, str(data_dir / "b_err.log")),
        ("Data collection aborted", str(data_dir / "d_err.log")),
        (failure, str(data_dir / "e.log")),
        (failure, str(data_dir / "f_err.log")),
        (failure, str(data_dir / "g_err.log")),
        (failure, str(data_dir / "missing_err.log")),
        (failure, str(tmp_path / "outside_err.log")),
        (failure, str(data_dir / ".." / data_dir.name / "a_err.log")),
    ]
    flavour.run(_logged, flavour.data.sessions["a"], logs)
    errors = Caller(flavour, "sci_a")("GET", "/stats/errors", 200, params={"sessionId": flavour.data.sessions["a"]})
    sad = next(t for t in errors["totals"] if t["experimentType"] == "SAD")
    assert (sad["total"], sad["failed"], sad["aborted"]) == (10, 9, 1)
    assert sad["messages"] == [
        {"count": 2, "message": "ERROR: detector timeout after 31 s"},
        {"count": 1, "message": "Beam lost"},
    ]
    assert _both(flavour, "sci_b", {"sessionId": flavour.data.sessions["a"]}) == EMPTY


def test_a_hung_log_leaves_the_messages_out_in_time(
    flavour: Flavour, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log on a mount that does not answer: the counts still come, without messages, within the file timeout."""
    (data_dir / "hung_err.log").write_text("never read\n")
    flavour.run(_logged, flavour.data.sessions["a"], [("Failure", str(data_dir / "hung_err.log"))])
    gate, real_open = threading.Event(), paths.open_regular

    def hung_open(local: str, roots: list[str]) -> paths.Opened:
        gate.wait(10)
        return real_open(local, roots)

    monkeypatch.setattr(paths, "open_regular", hung_open)
    monkeypatch.setattr(flavour.state.files, "timeout", 0.3)
    try:
        started = time.monotonic()
        params = {"sessionId": flavour.data.sessions["a"]}
        errors = Caller(flavour, "sci_a")("GET", "/stats/errors", 200, params=params)
        assert time.monotonic() - started < 2
        sad = next(t for t in errors["totals"] if t["experimentType"] == "SAD")
        assert (sad["failed"], sad["messages"]) == (1, [])
    finally:
        gate.set()
    deadline = time.monotonic() + 5
    while flavour.state.files.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flavour.state.files.stuck == 0
