"""Session lists count the collections of live sessions afresh and keep those of finished ones a while."""

from datetime import timedelta
from typing import cast

from fastapi.testclient import TestClient

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
