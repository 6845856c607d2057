"""Session lists count the collections of live sessions afresh and keep those of finished ones a while."""

import asyncio
import threading
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from relational import read_sessions, sessions
from relational.sessions import FinishedSessionCounts
from schemas.times import local_now
from tests.conftest import Flavour
from tests.factories import add_collection, add_session_with_group


def _count(client: TestClient, headers: dict[str, str], session_id: int) -> int:
    r = client.get(f"/ispyb/api/v1/sessions/{session_id}", headers=headers)
    assert r.status_code == 200, r.text
    return cast(int, r.json()["_metadata"]["datacollections"])


def test_finished_sessions_counts_are_kept_live_ones_are_not(flavour: Flavour) -> None:
    now, admin, owner = local_now(), flavour.token("admin"), flavour.data.persons["sci_a"]
    finished_group = flavour.run(add_session_with_group, owner, "901", now - timedelta(days=2))
    live_group = flavour.run(add_session_with_group, owner, "902", now + timedelta(days=1))
    finished, _ = flavour.run(add_collection, finished_group)
    live, _ = flavour.run(add_collection, live_group)
    assert _count(flavour.client, admin, finished) == 1 and _count(flavour.client, admin, live) == 1

    flavour.run(add_collection, finished_group)
    flavour.run(add_collection, live_group)
    assert _count(flavour.client, admin, live) == 2
    assert _count(flavour.client, admin, finished) == 1  # the count this worker keeps for a finished session

    flavour.state.session_counts = FinishedSessionCounts(0)  # a worker that has not counted it yet
    assert _count(flavour.client, admin, finished) == 2


def test_a_collection_written_into_a_finished_session_through_the_api_is_counted_at_once(flavour: Flavour) -> None:
    """MXCuBE may store a collection into a session past its end: the worker that wrote it counts it at once."""
    now, admin, owner = local_now(), flavour.token("admin"), flavour.data.persons["sci_a"]
    finished_group = flavour.run(add_session_with_group, owner, "903", now - timedelta(days=2))
    finished, _ = flavour.run(add_collection, finished_group)
    assert _count(flavour.client, admin, finished) == 1  # now kept by this worker
    r = flavour.client.post("/ispyb/api/v1/datacollections/datacollection", json={"sessionId": finished}, headers=admin)
    assert r.status_code == 201, r.text
    assert _count(flavour.client, admin, finished) == 2


@pytest.mark.commits
def test_a_count_read_before_a_write_into_a_finished_session_is_not_kept_after_it(
    flavour: Flavour, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session list counts a finished session's collections, then a collection written into it commits (the
    worker forgets the count it keeps), then the list's count arrives: that count is answered, not kept."""
    now, admin, owner = local_now(), flavour.token("admin"), flavour.data.persons["sci_a"]
    group = flavour.run(add_session_with_group, owner, "904", now - timedelta(days=2))
    finished, _ = flavour.run(add_collection, group)
    counted, written = threading.Event(), threading.Event()
    execute = read_sessions.ReadOnlySession.execute

    async def count_then_wait(self: read_sessions.ReadOnlySession, statement: Any, *args: Any, **kw: Any) -> Any:
        answer = await execute(self, statement, *args, **kw)
        if statement is sessions._DC_COUNTS and not counted.is_set():
            counted.set()
            for _ in range(1000):  # until the write has committed (the event loop serves it meanwhile)
                if written.is_set():
                    break
                await asyncio.sleep(0.01)
        return answer

    monkeypatch.setattr(read_sessions.ReadOnlySession, "execute", count_then_wait)
    listed: list[int] = []
    reader = threading.Thread(target=lambda: listed.append(_count(flavour.client, admin, finished)))
    reader.start()
    assert counted.wait(10)
    r = flavour.client.post("/ispyb/api/v1/datacollections/datacollection", json={"sessionId": finished}, headers=admin)
    written.set()
    reader.join(15)
    assert r.status_code == 201, r.text
    assert listed == [1]  # read before the write
    assert _count(flavour.client, admin, finished) == 2


def test_a_count_put_after_its_session_was_forgotten_is_dropped_also_past_the_forget_log() -> None:
    counts = FinishedSessionCounts(300, max_entries=2)
    before = counts.mark()
    counts.forget(7)
    counts.put({7: 1, 8: 1}, before)
    assert counts.get([7, 8]) == {8: 1}
    counts.put({7: 2}, counts.mark())
    assert counts.get([7]) == {7: 2}
    before = counts.mark()
    counts.forget(1)
    counts.forget(2)  # the log of forgotten sessions is full: cleared, and counts read before are all dropped
    counts.put({3: 1}, before)
    assert counts.get([3]) == {}
    counts.put({3: 1}, counts.mark())
    assert counts.get([3]) == {3: 1}
