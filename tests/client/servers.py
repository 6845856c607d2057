"""What the UI driver runs: a flavour's throw-away database with the seed, the service under uvicorn on the port
the UI's default site config names (8000), and the built UI from a static server with a single-page fallback."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from relational.db import Database
from tests import factories
from tests.client.seed import Seeded, seed
from tests.conftest import MARIADB, load_flavour, mariadb

API_PORT, UI_PORT = 8000, 3000
API = f"http://localhost:{API_PORT}"
UI = f"http://localhost:{UI_PORT}"


@dataclass
class Stack:
    """One flavour's servers and what was seeded."""

    flavour: str
    seeded: Seeded
    log: Path


async def _seed(url: str, tag: str, root: Path) -> Seeded:
    database = Database(url)
    try:
        async with database.sessions() as db:
            seeded = await seed(db, tag, root)
            await db.commit()
            return seeded
    finally:
        await database.dispose()


@contextmanager
def database(flavour: str, root: Path) -> Iterator[tuple[str, Seeded]]:
    """A throw-away database of the flavour (named ispyb_ui_…), seeded; its URL and the seed; dropped after."""
    name = f"ispyb_ui_{flavour}_{uuid.uuid4().hex[:8]}"
    load_flavour(flavour, name)
    try:
        url = f"{MARIADB}/{name}"
        yield url, asyncio.run(_seed(url, flavour, root))
    finally:
        mariadb("-e", f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def api(sql_url: str, mongo_url: str, mongo_db: str, root: Path, log: Path) -> Iterator[None]:
    """The service under uvicorn on port 8000 (dummy logins, CORS for the UI's origin, files from ``root``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}
    groups = [
        {
            "groupName": "TB",
            "uiGroup": "mx",
            "permission": factories.STAFF_PERMISSION,
            "beamLines": [{"beamLineName": factories.BEAMLINE_A}],
        }
    ]
    env.update(
        ISPYB_MODE="dev",
        ISPYB_SQL_URL=sql_url,
        ISPYB_MONGO_URL=mongo_url,
        ISPYB_MONGO_DB=mongo_db,
        ISPYB_AUTH_PLUGINS="dummy",
        ISPYB_CORS_ORIGINS=UI,
        ISPYB_DATA_ROOTS=json.dumps([str(root)]),
        ISPYB_BEAMLINE_GROUPS=json.dumps(groups),
        ISPYB_PERMISSION_CACHE_SECONDS="0",
    )
    with socket.socket() as probe:  # another server on the port would answer the health probe in its place
        assert probe.connect_ex(("127.0.0.1", API_PORT)) != 0, f"port {API_PORT} is taken: the UI calls the API there"
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(API_PORT)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{API}/ispyb/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError(f"the service did not start:\n{log.read_text()}")
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _SpaHandler(SimpleHTTPRequestHandler):
    """Files of the build; any other path is the single page (index.html), as the UI's router expects."""

    def translate_path(self, path: str) -> str:
        found = super().translate_path(path)
        return found if Path(found).is_file() else str(Path(self.directory) / "index.html")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the driver records the API's calls, not the static files."""


@contextmanager
def ui(build: Path) -> Iterator[None]:
    """The built UI on port 3000."""
    server = ThreadingHTTPServer(("127.0.0.1", UI_PORT), partial(_SpaHandler, directory=str(build)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
