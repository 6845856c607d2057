"""Real servers: throw-away MariaDB databases loaded from both flavour dumps in ../shared, and a SecantusDB
process (or ISPYB_MONGO_URL) for the document side."""

import asyncio
import os
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.cli.embedded import DocumentServer
from app.main import create_app
from app.settings import Settings
from relational.db import Database
from schemas.options import BeamLine, BeamLineGroup
from tests import factories

warnings.filterwarnings("ignore", category=DeprecationWarning)
SHARED = Path(__file__).resolve().parents[2] / "shared"
DUMPS = {"official": SHARED / "ispyb-database", "dls": SHARED / "ispyb-database-dls"}
MARIADB = os.environ.get("ISPYB_TEST_MARIADB", "mysql+aiomysql://root@127.0.0.1:3306")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256"


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
    name: str
    database: str
    url: str
    data: factories.Dataset
    client: TestClient
    settings: Settings

    def token(self, role: str) -> dict[str, str]:
        """Headers for a role of the test data set (logged in through the dummy plugin)."""
        login = f"{role}_{self.name}"
        r = self.client.post("/ispyb/api/v1/auth/login", json={"plugin": "dummy", "login": login, "password": "x"})
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


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


@pytest.fixture(scope="session", params=["official", "dls"])
def flavour(request: pytest.FixtureRequest, mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> Iterator[Flavour]:
    """The API on one schema flavour, with the test data set written through the models."""
    name = request.param
    database = f"ispyb_test_{name}_{uuid.uuid4().hex[:8]}"
    load_flavour(name, database)
    url = f"{MARIADB}/{database}"
    data = asyncio.run(_build(url, name))
    settings = make_settings(url, mongo_url, database, oidc_key)
    with TestClient(create_app(settings)) as client:
        yield Flavour(name, database, url, data, client, settings)
    mariadb("-e", f"DROP DATABASE IF EXISTS `{database}`")
