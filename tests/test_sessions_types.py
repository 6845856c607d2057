"""Reads and writes are different session types: the read dependency's session refuses every write, and no GET
route can reach a write session."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import delete, insert, select, update
from sqlalchemy.pool import QueuePool

from app.deps import OPENED, close_opened, read_session, write_session
from app.main import create_app
from app.routers.routing import Route
from app.settings import Settings
from relational.db import Database
from relational.models import Person
from relational.read_sessions import ReadOnlySession
from tests.conftest import Flavour

API = "/ispyb/api/v1"

#: each write a read session must refuse, by the name its error gives
WRITES: dict[str, Callable[[Any], Awaitable[object] | object]] = {
    "add": lambda db: db.add(Person(login="nobody")),
    "add_all": lambda db: db.add_all([Person(login="nobody")]),
    "delete": lambda db: db.delete(Person(login="nobody")),
    "merge": lambda db: db.merge(Person(login="nobody")),
    "flush": lambda db: db.flush(),
    "commit": lambda db: db.commit(),
    "execute(insert)": lambda db: db.execute(insert(Person).values(login="nobody")),
    "execute(update)": lambda db: db.execute(update(Person).values(login="nobody")),
    "execute(delete)": lambda db: db.execute(delete(Person)),
}


async def _attempt(url: str, name: str) -> int:
    """Try ``write`` on the read dependency's session (it must raise), then count the people: still none."""
    database = Database(url)
    try:
        await database.start()
        state = SimpleNamespace(ispyb=SimpleNamespace(database=database))
        opened: list[ReadOnlySession] = []
        request = SimpleNamespace(app=SimpleNamespace(state=state), scope={OPENED: opened})
        db = await read_session(request)  # type: ignore[arg-type]
        try:
            with pytest.raises(RuntimeError, match=r"read-only session") as refused:
                outcome = WRITES[name](db)
                if isinstance(outcome, Awaitable):
                    await outcome
            assert refused.value.args[0].startswith(f"{name}() on a read-only session")
            return len((await db.scalars(select(Person))).all())  # reads still work
        finally:
            assert opened == [db]  # for the route to close
            await close_opened(opened)
    finally:
        await database.dispose()


@pytest.mark.parametrize("name", WRITES)
def test_the_read_session_refuses_each_write(tmp_path: Path, name: str) -> None:
    assert asyncio.run(_attempt(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", name)) == 0


def test_a_write_session_writes(tmp_path: Path) -> None:
    async def run() -> int:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            await database.start()
            async with database.write_sessions() as db:
                db.add(Person(login="somebody"))
                await db.flush()
                await db.commit()
            async with database.read_sessions() as db:
                return len((await db.scalars(select(Person))).all())
        finally:
            await database.dispose()

    assert asyncio.run(run()) == 1


def _calls(dependant: Dependant) -> Iterator[object]:
    """Every dependency a route resolves, at any depth."""
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _routes() -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route of the app, included routers unfolded."""
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    contexts = iter_route_contexts(create_app(settings).routes)
    return [(c.path or "", c.original_route) for c in contexts if isinstance(c.original_route, APIRoute)]


def _methods(route: APIRoute) -> set[str]:
    return route.methods or set()


def test_no_get_route_has_a_write_session() -> None:
    gets = [(path, r) for path, r in _routes() if "GET" in _methods(r)]
    assert len(gets) > 40
    assert [path for path, r in gets if write_session in set(_calls(r.dependant))] == []


def test_the_write_routes_are_seen() -> None:
    """The walk above reaches the dependencies: the routes that change SQL rows are found taking a write session."""
    writing = {(path, m) for path, r in _routes() if write_session in set(_calls(r.dependant)) for m in _methods(r)}
    assert ("/ispyb/api/v1/shippings/{shippingId}", "PATCH") in writing
    assert ("/ispyb/api/v1/samples", "POST") in writing


def test_every_route_taking_a_read_session_closes_it() -> None:
    """A read session is a plain dependency that its route closes (``app.routers.routing.Route``); any other route
    would leave its connection out of the pool."""
    reading = [(path, r) for path, r in _routes() if read_session in set(_calls(r.dependant))]
    assert len(reading) > 40
    assert [path for path, r in reading if not isinstance(r, Route)] == []


@pytest.mark.commits
def test_every_way_a_read_ends_hands_its_connection_back(flavour: Flavour) -> None:
    """On the service's own pool (not a test's bound connection): a read that answers, one its handler refuses, one
    a dependency refuses after the read session was opened, one with a query FastAPI refuses, GraphQL's and a
    streamed export, each many times over the pool's size: no connection is left out of the pool."""
    proposal = flavour.data.proposals["a"]
    asks = [
        ("GET", "/proposals", {}, 200),
        ("GET", "/proposals/NOSUCH1", {}, 404),  # refused by a dependency that read
        ("GET", "/datacollections/999999999", {}, 404),
        ("GET", "/proposals", {"limit": "many"}, 422),
        ("GET", f"/proposals/{proposal}/results", {}, 200),  # streamed: its session open until the end
        ("POST", "/graphql", {"query": "{ proposals { proposalId } }"}, 200),
    ]
    pool = flavour.state.database.read_engine.pool
    assert isinstance(pool, QueuePool)
    rounds = pool.size() * 2 + 1
    for method, path, params, status in asks:
        for _ in range(rounds):
            body = {"json": params} if method == "POST" else {"params": params}
            r = flavour.client.request(method, API + path, headers=flavour.token("sci_a"), **body)
            assert r.status_code == status, (path, r.text)
        assert pool.checkedout() == 0, path
