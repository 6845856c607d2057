"""Ids in sample, protein and lab-contact bodies beyond what the database holds answer 422 (they overflowed
SQLite's 8-byte INTEGER: 500), on both flavours and on the embedded SQLite database."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.main import create_app
from tests import factories
from tests.conftest import Flavour, make_settings

API = "/ispyb/api/v1"
HOSTILE_IDS = [0, -1, 2**32, 2**63, 2**64, -(2**63) - 1]


@pytest.fixture
def embedded(tmp_path: Path, mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> Iterator[tuple[TestClient, Any]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"
    data = asyncio.run(factories.build_embedded(url))
    settings = make_settings(url, mongo_url, f"ids_{uuid.uuid4().hex[:8]}", oidc_key)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, data


def _writes(data: factories.Dataset, bad: int) -> list[tuple[str, str, dict[str, Any]]]:
    protein, sample = data.proteins["a"], data.samples["a"]
    return [
        ("POST", "/samples", {"name": "x", "Crystal": {"proteinId": bad}}),
        ("POST", "/samples", {"name": "x", "Crystal": {"proteinId": protein}, "containerId": bad, "location": 1}),
        ("PATCH", f"/samples/{sample}", {"containerId": bad, "location": 2}),
        ("POST", "/proteins", {"proposalId": bad, "acronym": "x"}),
        ("POST", "/labcontacts", {"proposalId": bad, "cardName": "x", "personId": 1}),
        ("POST", "/labcontacts", {"proposalId": 1, "cardName": "x", "personId": bad}),
    ]


def _all_refused(client: TestClient, login: str, data: factories.Dataset) -> None:
    token = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": login}).json()["token"]
    for bad in HOSTILE_IDS:
        for method, path, body in _writes(data, bad):
            r = client.request(method, API + path, json=body, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 422, f"{method} {path} {body}: {r.status_code} {r.text[:200]}"


def test_ids_out_of_range_are_422_on_sqlite(embedded: tuple[TestClient, factories.Dataset]) -> None:
    _all_refused(embedded[0], "sci_a_embedded", embedded[1])


def test_ids_out_of_range_are_422_on_mariadb(flavour: Flavour) -> None:
    _all_refused(flavour.client, f"sci_a_{flavour.name}", flavour.data)
