"""Session lists count the collections of live sessions afresh and keep those of finished ones a while."""

import asyncio
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Flavour
from tests.factories import add_collection, add_session_with_group


def _count(client: TestClient, headers: dict[str, str], session_id: int) -> int:
    r = client.get(f"/ispyb/api/v1/sessions/{session_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["_metadata"]["datacollections"]


def test_finished_sessions_counts_are_kept_live_ones_are_not(flavour: Flavour) -> None:
    now, admin, owner = datetime.now(), flavour.token("admin"), flavour.data.persons["sci_a"]
    finished_group = asyncio.run(add_session_with_group(flavour.url, owner, "901", now - timedelta(days=2)))
    live_group = asyncio.run(add_session_with_group(flavour.url, owner, "902", now + timedelta(days=1)))
    finished, _ = asyncio.run(add_collection(flavour.url, finished_group))
    live, _ = asyncio.run(add_collection(flavour.url, live_group))
    assert _count(flavour.client, admin, finished) == 1 and _count(flavour.client, admin, live) == 1

    asyncio.run(add_collection(flavour.url, finished_group))
    asyncio.run(add_collection(flavour.url, live_group))
    assert _count(flavour.client, admin, live) == 2
    assert _count(flavour.client, admin, finished) == 1  # the count this worker keeps for a finished session

    uncached = flavour.settings.model_copy(update={"finished_session_cache_seconds": 0})
    with TestClient(create_app(uncached)) as client:
        assert _count(client, admin, finished) == 2
