"""The document store over the wire: indexes ensured at start-up, health, and SQL routes surviving its loss."""

import uuid
from typing import Any

from fastapi.testclient import TestClient
from pymongo import MongoClient

from app.cli.embedded import DocumentServer
from app.main import create_app
from documents.indexes import INDEXES
from tests.conftest import Flavour, make_settings


def test_indexes_are_ensured(flavour: Flavour, mongo_url: str) -> None:
    with MongoClient[dict[str, Any]](mongo_url) as client:
        db = client[flavour.settings.mongo_db]
        for collection, indexes in INDEXES.items():
            names = set(db[collection].index_information())
            assert names == {"_id_"} | {i.document["name"] for i in indexes}


def test_store_stopped_mid_test(flavour: Flavour, oidc_key) -> None:  # type: ignore[no-untyped-def]
    server = DocumentServer(":memory:").start()
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=200)
    try:
        with TestClient(create_app(settings)) as client:
            health = client.get("/ispyb/api/v1/health").json()
            assert health["status"] == "ok" and health["stores"]["sql"]["flavour"] == flavour.name
            server.stop()
            health = client.get("/ispyb/api/v1/health").json()
            assert health["status"] == "degraded" and health["stores"]["documents"]["state"] == "unavailable"
            assert health["stores"]["sql"]["state"] == "ok"
            login = client.post(
                "/ispyb/api/v1/auth/login", json={"plugin": "dummy", "login": f"sci_a_{flavour.name}"}
            ).json()
            r = client.get("/ispyb/api/v1/sessions", headers={"Authorization": f"Bearer {login['token']}"})
            assert r.status_code == 200 and r.json()["total"] == 1
    finally:
        server.stop()
