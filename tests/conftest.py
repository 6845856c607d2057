"""Real servers: throw-away MariaDB databases loaded from both flavour dumps in ../shared, and a SecantusDB
process (or ISPYB_MONGO_URL) for the document side."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction

from app.cli.embedded import DocumentServer
from app.main import create_app
from app.settings import Settings
from app.state import AppState, Kept
from relational.db import Database
from relational.sessions import FinishedSessionCounts
from schemas.options import BeamLine, BeamLineGroup
from tests import factories

warnings.filterwarnings("ignore", category=DeprecationWarning)
SHARED = Path(__file__).resolve().parents[2] / "shared"
DUMPS = {"official": SHARED / "ispyb-database", "dls": SHARED / "ispyb-database-dls"}
MARIADB = os.environ.get("ISPYB_TEST_MARIADB", "mysql+aiomysql://root@127.0.0.1:3306")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"
#: the data root of every test app (ISPYB_DATA_ROOTS): tests write their files under it through ``data_dir``
DATA_ROOT = Path(tempfile.mkdtemp(prefix="ispyb-test-data-")).resolve()
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "commits: the test commits for real (its own servers or connections)")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(DATA_ROOT, ignore_errors=True)


def mariadb(*args: str, stdin: Path | None = None) -> None:
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
        subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", *args], stdin=source, check=True)


def load_flavour(flavour: str, name: str) -> None:
    """A fresh database ``name`` loaded from a flavour's dumps."""
    if not DUMPS[flavour].is_dir():
        pytest.skip(f"{DUMPS[flavour]} is absent: the relational tests need the shared ISPyB dumps")
    mariadb("-e", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        mariadb(name, stdin=DUMPS[flavour] / f"{part}.sql")


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if url := os.environ.get("ISPYB_MONGO_URL"):
        yield url
        return
    server = DocumentServer(":memory:").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def oidc_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Flavour:
    """One schema flavour's database, loaded once per run, and the API on it (alive for the whole run)."""

    name: str
    database: str
    url: str
    data: factories.Dataset
    client: TestClient
    settings: Settings
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def token(self, role: str) -> dict[str, str]:
        """Headers for a role of the test data set, logged in once per run through the dummy plugin."""
        if role not in self.tokens:
            login = f"{role}_{self.name}"
            body = {"plugin": "dummy", "login": login, "password": "x"}
            r = self.client.post("/ispyb/api/v1/auth/login", json=body)
            assert r.status_code == 201, r.text
            self.tokens[role] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.tokens[role]

    @property
    def state(self) -> AppState:
        state: AppState = self.client.app.state.ispyb  # type: ignore[attr-defined]
        return state

    def run(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await work(db, *args)`` in a session of the app's, committed (in an isolated test: on the test's
        transaction, rolled back at its end); its answer."""

        async def unit() -> T:
            async with self.state.database.write_sessions() as db:
                answer = await work(db, *args)
                await db.commit()
                return answer

        return self.client.portal.call(unit)  # type: ignore[union-attr]

    @contextmanager
    def statements(self) -> Iterator[list[str]]:
        """The SQL statements the app's engine runs meanwhile."""
        seen: list[str] = []
        engine = self.state.database.engine.sync_engine

        def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", note)


def make_settings(url: str, mongo: str, mongo_db: str, oidc_key: rsa.RSAPrivateKey, **extra: object) -> Settings:
    public = (
        oidc_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    values: dict[str, object] = dict(
        mode="dev",
        sql_url=url,
        mongo_url=mongo,
        mongo_db=mongo_db,
        jwt_secret=JWT_SECRET,
        auth_plugins=["dummy", "oidc"],
        oidc_public_key=public,
        oidc_issuer="https://idp.test",
        permission_cache_seconds=0,
        mongo_count_timeout_ms=30_000,  # exact totals on a loaded machine; estimate tests set their own
        data_roots=[str(DATA_ROOT)],
        beamline_groups=[
            BeamLineGroup(
                groupName="TB",
                uiGroup="mx",
                permission=factories.STAFF_PERMISSION,
                beamLines=[BeamLine(beamLineName=factories.BEAMLINE_A)],
            )
        ],
    )
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def _build(url: str, tag: str) -> factories.Dataset:
    database = Database(url)
    try:
        async with database.sessions() as db:
            data = await factories.build(db, tag)
            await db.commit()
            return data
    finally:
        await database.dispose()


class Flavours:
    """Each flavour's database (and a second one, for tests that commit), loaded on first use and kept for the run:
    a test in random order never reloads a dump."""

    def __init__(self, mongo_url: str, oidc_key: rsa.RSAPrivateKey, stack: ExitStack) -> None:
        self.mongo_url, self.oidc_key, self.stack = mongo_url, oidc_key, stack
        self.loaded: dict[tuple[str, bool], Flavour] = {}

    def get(self, name: str, commits: bool) -> Flavour:
        if (name, commits) not in self.loaded:
            database = f"ispyb_test_{name}{'_commits' if commits else ''}_{uuid.uuid4().hex[:8]}"
            load_flavour(name, database)
            self.stack.callback(mariadb, "-e", f"DROP DATABASE IF EXISTS `{database}`")
            url = f"{MARIADB}/{database}"
            data = asyncio.run(_build(url, name))
            settings = make_settings(url, self.mongo_url, database, self.oidc_key)
            client = self.stack.enter_context(TestClient(create_app(settings)))
            self.loaded[name, commits] = Flavour(name, database, url, data, client, settings)
        return self.loaded[name, commits]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A directory of the test's own under the apps' data root, removed after the test."""
    path = DATA_ROOT / uuid.uuid4().hex
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def flavours(mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> Iterator[Flavours]:
    with ExitStack() as stack:
        yield Flavours(mongo_url, oidc_key, stack)


async def _begin(database: Database) -> tuple[AsyncConnection, AsyncTransaction]:
    connection = await database.engine.connect()
    transaction = await connection.begin()
    database.bind(connection)
    return connection, transaction


async def _end(state: AppState, connection: AsyncConnection, transaction: AsyncTransaction) -> None:
    """Roll the test's writes back, then forget what the process cached and clear the documents."""
    state.database.bind(None)
    try:
        await transaction.rollback()
    finally:
        await connection.close()
    await _forget(state)


async def _forget(state: AppState) -> None:
    """Clear the process's caches and the documents (their indexes stay)."""
    state.permissions.clear()
    state.api_keys.entries.clear()
    state.session_counts = FinishedSessionCounts(state.settings.finished_session_cache_seconds)
    state.kept = Kept()
    db = state.documents.db
    for name in await db.list_collection_names():
        await db[name].delete_many({})


@contextmanager
def isolated(f: Flavour) -> Iterator[Flavour]:
    """``f`` with every SQL write of the app's in a transaction rolled back at the end (the app's commits release
    savepoints of it), then the process's caches and the documents cleared."""
    portal = f.client.portal
    assert portal is not None
    connection, transaction = portal.call(_begin, f.state.database)
    try:
        yield f
    finally:
        portal.call(_end, f.state, connection, transaction)


@pytest.fixture(params=["official", "dls"])
def flavour(request: pytest.FixtureRequest, flavours: Flavours) -> Iterator[Flavour]:
    """The API on one schema flavour, with the test data set written through the models; the test is
    ``isolated``. A test marked ``commits`` (real commits: servers or connections of its own) gets a database of
    its own kind instead, shared by such tests, with the caches and documents cleared after it."""
    if request.node.get_closest_marker("commits") is None:
        with isolated(flavours.get(request.param, commits=False)) as f:
            yield f
        return
    f = flavours.get(request.param, commits=True)
    yield f
    assert f.client.portal is not None
    f.client.portal.call(_forget, f.state)
