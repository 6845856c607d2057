"""The service as real processes for tests/test_workers.py: one throw-away database (``wk_…``) of the official
flavour with the test data set, one document database, and uvicorn servers over both (each a process of its own,
or several workers behind one port), stopped and dropped afterwards."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient
from sqlalchemy.ext.asyncio import AsyncSession

from relational.db import Database
from tests import factories
from tests.conftest import JWT_SECRET, MARIADB, load_flavour, mariadb

API = "/ispyb/api/v1"
ROOT = Path(__file__).resolve().parents[1]
#: how each process is configured besides its stores (short caches, so the tests can wait them out)
SETTINGS = {
    "ISPYB_MODE": "dev",
    "ISPYB_JWT_SECRET": JWT_SECRET,
    "ISPYB_AUTH_PLUGINS": "dummy",
    "ISPYB_PERMISSION_CACHE_SECONDS": "1",
    "ISPYB_REFRESH_GRACE_SECONDS": "2",
    "ISPYB_MONGO_COUNT_TIMEOUT_MS": "30000",
    "ISPYB_BEAMLINE_GROUPS": json.dumps(
        [
            {
                "groupName": "TB",
                "uiGroup": "mx",
                "permission": factories.STAFF_PERMISSION,
                "beamLines": [{"beamLineName": factories.BEAMLINE_A}],
            }
        ]
    ),
}
TAG = "wk"
#: TCP states as /proc/net/tcp writes them
LISTENING, ESTABLISHED = "0A", "01"
T = TypeVar("T")


@dataclass
class Server:
    """One uvicorn server (one or several worker processes behind ``port``)."""

    port: int
    workers: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    socket_per_worker: bool = True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def start(self, env: dict[str, str]) -> None:
        with socket.socket() as probe:  # another server there would answer the health probe in this one's place
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0, f"port {self.port} is taken"
        command = serve(self.port, self.workers, self.socket_per_worker)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=ROOT)

    def wait_healthy(self, deadline: float) -> None:
        """Until every worker listens (each starts in its own time; on one shared socket, which the supervisor
        holds too) and GET /health answers 200."""
        assert self.process is not None
        while self.process.poll() is None and time.monotonic() < deadline:
            shared = self.workers > 1 and not self.socket_per_worker
            if len(sockets_held(self.port, LISTENING)) == self.workers + shared:
                try:
                    if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"the service on port {self.port} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Ask it to stop (SIGINT: each worker's lifespan closes its clients); ``wait_stopped`` waits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)

    def wait_stopped(self) -> None:
        """Until it has stopped (killed after 20 s)."""
        if self.process is None:
            return
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Cluster:
    """The stores, their data set and the servers over them."""

    sql_url: str
    mongo_url: str
    mongo_db: str
    data: factories.Dataset
    servers: dict[int, Server]
    env: dict[str, str]  #: the servers' environment
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def base(self, port: int) -> str:
        return self.servers[port].base

    def token(self, role: str) -> dict[str, str]:
        """Headers of a role of the data set, logged in once (on any server: they share the JWT secret)."""
        if role not in self.tokens:
            r = httpx.post(f"{next(iter(self.servers.values())).base}/auth/login", json=login(f"{role}_{TAG}"))
            assert r.status_code == 201, r.text
            self.tokens[role] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.tokens[role]

    def commit(self, work: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await work(db, *args)`` in a session of a connection of the test's own, committed; its answer."""
        return asyncio.run(_committed(self.sql_url, work, *args))

    @contextmanager
    def documents(self) -> Iterator[Any]:
        """The service's document database, read and changed directly."""
        client: MongoClient[dict[str, Any]]
        with MongoClient(self.mongo_url, tz_aware=True) as client:
            yield client[self.mongo_db]


def serve(port: int, workers: int, socket_per_worker: bool = True) -> list[str]:
    """The command that runs the service on ``port`` as it ships: ``ispyb-hybrid serve``."""
    command = [str(Path(sys.executable).parent / "ispyb-hybrid"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    sockets = ["--socket-per-worker"] if socket_per_worker else []
    return [*command, "--workers", str(workers), *sockets, "--log-level", "warning"]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that nothing on this machine holds now (each bound at once, then released), so
    that no test waits on another's port or a stray server's: a fixed port now and then met a socket still open."""
    with ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def socket_inodes(port: int, state: str) -> set[str]:
    """The TCP sockets on local ``port`` in ``state`` (as ``/proc/net/tcp`` writes it: ``0A`` listening, ``01``
    established), as their descriptors read (``socket:[inode]``)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def sockets_held(port: int, state: str) -> Counter[int]:
    """How many of ``socket_inodes(port, state)`` each process holds."""
    inodes = socket_inodes(port, state)
    held: Counter[int] = Counter()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                held[int(fd.parts[2])] += 1
        except OSError:  # closed, or its process gone, since the listing
            continue
    return held


def login(who: str) -> dict[str, str]:
    return {"plugin": "dummy", "login": who, "password": "x"}


async def _committed(url: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    database = Database(url)
    try:
        async with database.sessions() as db:
            answer = await work(db, *args)
            await db.commit()
            return answer
    finally:
        await database.dispose()


async def _dataset(db: AsyncSession) -> factories.Dataset:
    return await factories.build(db, TAG)


@contextmanager
def cluster(mongo_url: str, workers: dict[int, int], logs: Path) -> Iterator[Cluster]:
    """A database ``wk_…`` of the official flavour with the data set, and a server per port (``workers``: port →
    worker processes) over it and the document database of the same name; everything stopped and dropped after."""
    name = f"wk_{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        load_flavour("official", name)
        stack.callback(mariadb, "-e", f"DROP DATABASE IF EXISTS `{name}`")
        stack.callback(_drop_documents, mongo_url, name)
        sql_url = f"{MARIADB}/{name}"
        data = asyncio.run(_committed(sql_url, _dataset))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | SETTINGS
        env |= {"ISPYB_SQL_URL": sql_url, "ISPYB_MONGO_URL": mongo_url, "ISPYB_MONGO_DB": name}
        servers = {port: Server(port, n, logs / f"uvicorn-{port}.log") for port, n in workers.items()}
        stack.callback(_stop, list(servers.values()))
        for server in servers.values():
            server.start(env)
        deadline = time.monotonic() + 90
        for server in servers.values():
            server.wait_healthy(deadline)
        yield Cluster(sql_url, mongo_url, name, data, servers, env)


def _stop(servers: list[Server]) -> None:
    """Ask every server to stop (SIGINT: lifespans close their clients), then wait for each."""
    for server in servers:
        server.stop()
    for server in servers:
        server.wait_stopped()


def _drop_documents(mongo_url: str, name: str) -> None:
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_url) as client:
        client.drop_database(name)
