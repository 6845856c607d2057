"""MariaDB outages against a real service: a PRIVATE mariadbd (its own data directory and port, started and
killed here; never the shared server) is killed, restarted, hung (SIGSTOP) and resumed under a uvicorn server
with short timeouts. SQL routes answer 503 problem+json with Retry-After within the timeouts, /health within its
own, and everything answers 200 again afterwards without restarting the service.

The outage paths are driver-level (the same on both schema flavours), so the official flavour is enough."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pymysql
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from app.cli.embedded import DocumentServer, free_port
from app.main import create_app
from relational.db import Database
from tests import factories
from tests.conftest import DUMPS, make_settings

API = "/ispyb/api/v1"
TIMEOUTS = {"sql_connect_timeout": 1.0, "sql_read_timeout": 1.5, "sql_pool_timeout": 0.5, "health_timeout": 0.5}
#: a request must have an answer by then: connect + read + pool timeouts, and slack for a loaded machine
ANSWER_BY = 10.0
#: /health: its probe limit and slack for a loaded machine (it hung for ever before)
HEALTH_BY = 2.5


def _program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.skip(f"`{name}` is not installed: the outage tests run their own MariaDB server")
    return found


class PrivateMariaDB:
    """A mariadbd of this test alone, bound to its parent (``app.cli.bound_child``) so it cannot outlive the run."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run([_program("mariadb-install-db"), "--no-defaults", f"--datadir={home / 'data'}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True)  # fmt: skip

    def start(self) -> None:
        server = [_program("mariadbd"), "--no-defaults", f"--datadir={self.home / 'data'}", f"--port={self.port}",
                  "--bind-address=127.0.0.1", f"--socket={self.home / 'sock'}", f"--pid-file={self.home / 'pid'}",
                  f"--log-error={self.home / 'error.log'}", "--skip-grant-tables", "--innodb-buffer-pool-size=32M",
                  *(["--user=root"] if os.geteuid() == 0 else [])]  # fmt: skip
        bound = [sys.executable, "-m", "app.cli.bound_child", str(os.getpid())]
        self.process = subprocess.Popen(bound + server, start_new_session=True)
        for _ in range(300):
            assert self.process.poll() is None, (self.home / "error.log").read_text()
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        raise AssertionError((self.home / "error.log").read_text())

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # works on a stopped process too
            self.process.wait()

    def load(self, flavour: str, name: str) -> None:
        client = [_program("mariadb"), "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot"]
        subprocess.run([*client, "-e", f"CREATE DATABASE `{name}`"], check=True)
        for part in ("1_tables", "2_lookups", "3_data"):
            with open(DUMPS[flavour] / f"{part}.sql", "rb") as dump:
                subprocess.run([*client, name], stdin=dump, check=True)


class Service:
    """The app under a real uvicorn server in a thread (TestClient would serialise the requests)."""

    def __init__(self, settings: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.base = f"http://127.0.0.1:{self.port}{API}"
        self.exit_code: object = None

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit as exc:  # uvicorn's answer to a failed start-up
            self.exit_code = exc.code

    def __enter__(self) -> "Service":
        self.thread.start()
        for _ in range(600):
            if self.server.started:
                return self
            assert self.thread.is_alive(), "the service did not start"
            time.sleep(0.05)
        raise AssertionError("the service did not start within 30 s")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@dataclass
class Outage:
    mariadb: PrivateMariaDB
    documents: DocumentServer
    service: Service
    headers: dict[str, str]
    login: dict[str, str]
    routes: list[str]  #: every GET route without path parameters that needs a token and answers 200 when all is up

    def get(self, route: str, timeout: float = ANSWER_BY) -> httpx.Response:
        return httpx.get(f"{self.service.base}{route}", headers=self.headers, timeout=timeout)

    def post_login(self) -> httpx.Response:
        return httpx.post(f"{self.service.base}/auth/login", json=self.login, timeout=ANSWER_BY)

    def all_answer(self) -> None:
        """Each route answers 200 again, in turn (at once, more requests than the pool holds would wait)."""
        assert {route: self.get(route).status_code for route in self.routes} == dict.fromkeys(self.routes, 200)
        assert self.post_login().status_code == 201


async def _concurrently(base: str, routes: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=ANSWER_BY) as client:
        return list(await asyncio.gather(*(client.get(route) for route in routes)))


async def _build(url: str) -> None:
    database = Database(url)
    try:
        async with database.sessions() as db:
            await factories.build(db, "official")
            await db.commit()
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory, oidc_key: rsa.RSAPrivateKey) -> Iterator[Outage]:
    if not DUMPS["official"].is_dir():
        pytest.skip(f"{DUMPS['official']} is absent: the outage tests load the shared ISPyB dump")
    mariadb = PrivateMariaDB(tmp_path_factory.mktemp("mariadb"))
    documents = DocumentServer(":memory:")
    try:
        mariadb.start()
        mariadb.load("official", "ispyb")
        url = f"mysql+aiomysql://root@127.0.0.1:{mariadb.port}/ispyb"
        asyncio.run(_build(url))
        documents.start()
        settings = make_settings(url, documents.url, "outages", oidc_key, sql_pool_size=1, **TIMEOUTS)
        with Service(settings) as service:
            login = {"plugin": "dummy", "login": "sci_a_official", "password": "x"}
            token = httpx.post(f"{service.base}/auth/login", json=login).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            spec = httpx.get(f"{service.base}/openapi.json").json()
            candidates = [p.removeprefix(API) for p, ops in spec["paths"].items()
                          if "get" in ops and ops["get"].get("security") and "{" not in p]  # fmt: skip
            routes = [r for r in candidates if httpx.get(f"{service.base}{r}", headers=headers).status_code == 200]
            assert "/proposals" in routes and "/user/current" in routes
            yield Outage(mariadb, documents, service, headers, login, routes)
            mariadb.signal(signal.SIGCONT)  # a failed test may leave it stopped: let the service shut down
    finally:
        documents.stop()
        mariadb.kill()


def _unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json" and int(r.headers["Retry-After"]) > 0
    assert r.json()["title"] == "Database unavailable"


def test_killed_database_answers_503_then_recovers_without_restart(outage: Outage) -> None:
    outage.mariadb.kill()
    try:
        for route in outage.routes:
            _unavailable(outage.get(route))
        _unavailable(outage.post_login())
        health = outage.get("/health", timeout=HEALTH_BY).json()
        assert health["status"] == "degraded" and health["stores"]["sql"]["state"] == "unavailable"
    finally:
        outage.mariadb.start()
    outage.all_answer()
    assert outage.get("/health").json()["status"] == "ok"


def test_hung_database_answers_503_within_the_timeouts_then_recovers(outage: Outage) -> None:
    outage.all_answer()  # connections in the pool, as in a running service
    outage.mariadb.signal(signal.SIGSTOP)
    try:
        health = outage.get("/health", timeout=HEALTH_BY).json()
        assert health["status"] == "degraded" and health["stores"]["sql"]["state"] == "timeout"
        # more requests at once than the pool holds (2): the ones waiting for a connection give up too
        answers = asyncio.run(_concurrently(outage.service.base, outage.routes, outage.headers))
        for r in answers:
            _unavailable(r)
        assert {r.json()["detail"] for r in answers} >= {"Every database connection is busy; try again shortly"}
        _unavailable(outage.post_login())
    finally:
        outage.mariadb.signal(signal.SIGCONT)
    outage.all_answer()
    assert outage.get("/health").json()["status"] == "ok"


def test_health_answers_while_both_stores_hang(outage: Outage) -> None:
    assert outage.documents.process is not None
    outage.mariadb.signal(signal.SIGSTOP)
    outage.documents.process.send_signal(signal.SIGSTOP)
    try:
        health = outage.get("/health", timeout=HEALTH_BY).json()
    finally:
        outage.documents.process.send_signal(signal.SIGCONT)
        outage.mariadb.signal(signal.SIGCONT)
    assert health["status"] == "degraded"
    assert {name: store["state"] for name, store in health["stores"].items()} == {
        "sql": "timeout",
        "documents": "timeout",
    }
    outage.all_answer()


def test_start_up_against_a_hung_database_fails_clearly(
    outage: Outage, oidc_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"mysql+aiomysql://root@127.0.0.1:{outage.mariadb.port}/ispyb"
    settings = make_settings(url, outage.documents.url, "outages", oidc_key, **TIMEOUTS)
    service = Service(settings)
    outage.mariadb.signal(signal.SIGSTOP)
    try:
        service.thread.start()
        service.thread.join(ANSWER_BY)
        assert not service.thread.is_alive() and not service.server.started and service.exit_code == 3
    finally:
        outage.mariadb.signal(signal.SIGCONT)
    assert f"The database mysql+aiomysql://root@127.0.0.1:{outage.mariadb.port}/ispyb does not answer" in caplog.text
    outage.all_answer()


def test_a_statement_an_administrator_kills_answers_503_then_all_answer(outage: Outage) -> None:
    """A read waiting on a table lock when an administrator stops it (``KILL QUERY``: 1317, the connection kept) is
    the database's refusal of that attempt: 503 with Retry-After, not a 500."""
    outage.all_answer()
    port = outage.mariadb.port
    locker, admin = (pymysql.connect(host="127.0.0.1", port=port, user="root", database="ispyb") for _ in range(2))
    try:
        with locker.cursor() as cursor:
            cursor.execute("LOCK TABLES Proposal WRITE")
        with ThreadPoolExecutor(1) as pool, admin.cursor() as cursor:
            answer = pool.submit(outage.get, "/proposals")
            cursor.execute(f"KILL QUERY {_waiting_on_a_lock(cursor)}")
            stopped = answer.result()
    finally:
        locker.close()  # its lock with it
        admin.close()
    assert stopped.status_code == 503 and int(stopped.headers["Retry-After"]) > 0, stopped.text
    assert stopped.json()["title"] == "Database busy" and "stopped this request's statement" in stopped.json()["detail"]
    outage.all_answer()


def _waiting_on_a_lock(cursor: pymysql.cursors.Cursor) -> int:
    """The thread of the statement waiting on a table lock (once one does)."""
    for _ in range(100):
        cursor.execute("SELECT id FROM information_schema.processlist WHERE state LIKE '%lock%' AND db = 'ispyb'")
        if found := cursor.fetchone():
            return int(found[0])
        time.sleep(0.02)
    raise AssertionError("no statement waits on the lock")


def test_a_full_database_answers_503_then_recovers(outage: Outage) -> None:
    """MariaDB refusing new connections (1040, too many connections) is an outage too, not a 500."""
    outage.all_answer()
    admin = pymysql.connect(host="127.0.0.1", port=outage.mariadb.port, user="root")
    held: list[pymysql.Connection] = []
    try:
        with admin.cursor() as cursor:
            cursor.execute("SET GLOBAL max_connections = 2")
            cursor.execute("SELECT id FROM information_schema.processlist WHERE db = 'ispyb'")
            for (thread,) in cursor.fetchall():  # the service's pooled connections: it must open new ones
                cursor.execute(f"KILL {int(thread)}")
            while True:  # then take every slot left (root has one more than max_connections)
                try:
                    held.append(pymysql.connect(host="127.0.0.1", port=outage.mariadb.port, user="root"))
                except pymysql.OperationalError as exc:
                    assert exc.args[0] == 1040, exc
                    break
        _unavailable(outage.get("/proposals"))
        _unavailable(outage.post_login())
    finally:
        for connection in held:
            connection.close()
        with admin.cursor() as cursor:
            cursor.execute("SET GLOBAL max_connections = 151")
        admin.close()
    outage.all_answer()
