"""Check-then-write races, with truly concurrent requests against a real uvicorn server (TestClient runs them one
at a time): one container position and one protein acronym per proposal, however many clients try at once; on
both MariaDB flavours and on the embedded SQLite database."""

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from app.cli.embedded import free_port
from app.main import create_app
from app.settings import Settings
from relational.models import BLSample, Protein
from tests import factories
from tests.conftest import Flavour, make_settings

CONCURRENT = 10  # two connections each (identity and unit of work) stay within the pool's 20


@dataclass
class Served:
    """A live server with sci_a's token and the test data set's ids."""

    base: str
    url: str
    headers: dict[str, str]
    data: factories.Dataset


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app under uvicorn in a thread on a free port; its API base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before serving"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/ispyb/api/v1"
    finally:
        server.should_exit = True
        thread.join()


def _served(base: str, url: str, login: str, data: factories.Dataset) -> Served:
    r = httpx.post(f"{base}/auth/login", json={"plugin": "dummy", "login": login, "password": "x"})
    assert r.status_code == 201, r.text
    return Served(base, url, {"Authorization": f"Bearer {r.json()['token']}"}, data)


@pytest.fixture
def on_mariadb(flavour: Flavour) -> Iterator[Served]:
    with serve(flavour.settings) as base:
        yield _served(base, flavour.url, f"sci_a_{flavour.name}", flavour.data)


@pytest.fixture
def on_sqlite(tmp_path: Path, mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> Iterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"
    data = asyncio.run(factories.build_embedded(url))
    settings = make_settings(url, mongo_url, f"races_{uuid.uuid4().hex[:8]}", oidc_key)
    with serve(settings) as base:
        yield _served(base, url, "sci_a_embedded", data)


def _container(s: Served) -> int:
    body = {"dewarId": s.data.dewars["a"], "code": "race", "containerType": "Unipuck"}
    r = httpx.post(f"{s.base}/containers", json=body, headers=s.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["containerId"])


def _sample(s: Served, **placed: int) -> dict[str, Any]:
    return {"name": f"race-{uuid.uuid4().hex[:8]}", "Crystal": {"proteinId": s.data.proteins["a"]}, **placed}


Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def _sending(method: str, path: str, body: dict[str, Any] | None = None) -> Request:
    """A request to ``path`` with ``body`` (if any) as JSON."""

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.request(method, path, json=body)

    return send


def _at_once(s: Served, requests: list[Request]) -> Counter[int]:
    """Send every request at the same time; how many answered each status."""

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=s.base, headers=s.headers, timeout=120) as client:
            return await asyncio.gather(*(request(client) for request in requests))

    responses = asyncio.run(run())
    for r in responses:
        assert r.status_code in (200, 201, 409), r.text
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
    return Counter(r.status_code for r in responses)


def _one_position(s: Served) -> None:
    container = _container(s)
    body = _sample(s, containerId=container, location=5)
    bodies = [body | {"name": f"race-{i}"} for i in range(CONCURRENT)]
    counts = _at_once(s, [_sending("POST", "/samples", b) for b in bodies])
    assert counts == {201: 1, 409: CONCURRENT - 1}
    held = select(func.count()).where(BLSample.containerId == container, BLSample.location == "5")
    assert asyncio.run(factories.count_at(s.url, held)) == 1


def _moves_and_creations(s: Served) -> None:
    """Half the clients move an unplaced sample into the position, half create one there."""
    container = _container(s)
    loose = []
    for _ in range(CONCURRENT // 2):
        r = httpx.post(f"{s.base}/samples", json=_sample(s), headers=s.headers)
        assert r.status_code == 201, r.text
        loose.append(r.json()["blSampleId"])
    place = {"containerId": container, "location": 9}
    moves = [_sending("PATCH", f"/samples/{i}", place) for i in loose]
    creations = [_sending("POST", "/samples", _sample(s, **place)) for _ in loose]
    counts = _at_once(s, [r for pair in zip(moves, creations, strict=True) for r in pair])
    assert counts[200] + counts[201] == 1 and counts[409] == CONCURRENT - 1
    held = select(func.count()).where(BLSample.containerId == container, BLSample.location == "9")
    assert asyncio.run(factories.count_at(s.url, held)) == 1


def _one_acronym(s: Served) -> None:
    proposal = httpx.get(f"{s.base}/proteins/{s.data.proteins['a']}", headers=s.headers).json()["proposalId"]
    acronym = f"race{uuid.uuid4().hex[:8]}"
    body = {"proposalId": proposal, "acronym": acronym, "name": "raced"}
    counts = _at_once(s, [_sending("POST", "/proteins", body) for _ in range(CONCURRENT)])
    assert counts == {201: 1, 409: CONCURRENT - 1}
    same = select(func.count()).where(Protein.proposalId == proposal, Protein.acronym == acronym)
    assert asyncio.run(factories.count_at(s.url, same)) == 1


def _deletion_and_placements(s: Served) -> None:
    """Deleting a container while samples are placed in it: either the deletion wins and no sample lands (404),
    or samples land and the deletion is refused (409); a sample once acknowledged (201) is never cascaded away."""
    container = _container(s)
    placements = [
        _sending("POST", "/samples", _sample(s, containerId=container, location=i + 1)) for i in range(CONCURRENT - 1)
    ]
    deletion = _sending("DELETE", f"/containers/{container}")

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=s.base, headers=s.headers, timeout=120) as client:
            return await asyncio.gather(*(request(client) for request in [*placements[:4], deletion, *placements[4:]]))

    responses = asyncio.run(run())
    deleted = responses[4].status_code
    placed = [r.json()["blSampleId"] for r in responses if r.status_code == 201]
    assert deleted in (204, 409) and {r.status_code for r in responses} <= {201, 204, 404, 409}
    if deleted == 204:
        assert placed == []
    else:
        assert len(placed) == CONCURRENT - 1
    for sample in placed:
        assert httpx.get(f"{s.base}/samples/{sample}", headers=s.headers).status_code == 200


SCENARIOS = [_one_position, _moves_and_creations, _one_acronym, _deletion_and_placements]


@pytest.mark.commits  # a real server of its own, committing concurrent transactions
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_races_on_mariadb(on_mariadb: Served, scenario: Callable[[Served], None]) -> None:
    scenario(on_mariadb)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_races_on_sqlite(on_sqlite: Served, scenario: Callable[[Served], None]) -> None:
    scenario(on_sqlite)
