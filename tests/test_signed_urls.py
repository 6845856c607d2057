"""One-time signed URLs (``POST /user/sign``, then ``?onetime=``): once, for one path and query, for a short time,
for the signer's reach; py-ispyb-ui's ``useSign`` signs ``link.href`` and opens ``<href>?onetime=<token>``."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from relational.models import DataCollection
from tests.conftest import Flavour

API = "/ispyb/api/v1"


async def _snapshot(db: AsyncSession, dc_id: int, path: str) -> None:
    query = update(DataCollection).where(DataCollection.dataCollectionId == dc_id)
    await db.execute(query.values(xtalSnapshotFullPath1=path, xtalSnapshotFullPath2=path))


def _picture(flavour: Flavour, data_dir: Path, key: str = "a0") -> str:
    """Collection ``key`` with a snapshot; its picture's path."""
    path = data_dir / f"{key}.png"
    path.write_bytes(b"picture " + key.encode())
    flavour.run(_snapshot, flavour.data.dcs[key], str(path))
    return f"{API}/datacollections/images/{flavour.data.dcs[key]}"


def _sign(flavour: Flavour, validity: str, role: str = "sci_a") -> str:
    r = flavour.client.post(f"{API}/user/sign", json={"validity": validity}, headers=flavour.token(role))
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["validity", "token"]
    assert r.json()["validity"] == validity
    token: str = r.json()["token"]
    return token


def _get(client: TestClient, url: str, token: str, **params: Any) -> Any:
    return client.get(url, params={**params, "onetime": token})


def test_a_signed_url_works_once(flavour: Flavour, data_dir: Path) -> None:
    url = _picture(flavour, data_dir)
    token = _sign(flavour, f"http://localhost:3000{url}")
    first = _get(flavour.client, url, token)
    assert (first.status_code, first.content) == (200, b"picture a0")
    again = _get(flavour.client, url, token)
    assert (again.status_code, again.json()["detail"]) == (401, "This signed URL was used already, sign it again")


def test_bound_to_the_path_and_query(flavour: Flavour, data_dir: Path) -> None:
    url, other = _picture(flavour, data_dir, "a0"), _picture(flavour, data_dir, "a1")
    token = _sign(flavour, f"https://ui.example.org{url}?imageId=2&snapshot=false")
    refused = [
        _get(flavour.client, other, token, imageId=2, snapshot="false"),
        _get(flavour.client, url, token, imageId=1, snapshot="false"),
        _get(flavour.client, url, token, imageId=2),
        _get(flavour.client, url, token, imageId=2, snapshot="false", extra=1),
    ]
    assert [(r.status_code, r.json()["detail"]) for r in refused] == [
        (401, "This one-time token was signed for another URL")
    ] * 4
    # the refusals did not use it up; the query's order, the scheme and the host do not matter
    r = flavour.client.get(f"{url}?snapshot=false&onetime={token}&imageId=2")
    assert (r.status_code, r.content) == (200, b"picture a0")


@pytest.mark.parametrize("prefix", ["", "http://testserver", "https://proxy.example.org/ispyb-ui-api"])
def test_a_path_or_a_proxied_url(flavour: Flavour, data_dir: Path, prefix: str) -> None:
    url = _picture(flavour, data_dir)
    assert _get(flavour.client, url, _sign(flavour, prefix + url)).status_code == 200


def test_expired(flavour: Flavour, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _picture(flavour, data_dir)
    monkeypatch.setattr(flavour.state.settings, "sign_seconds", -1.0)
    r = _get(flavour.client, url, _sign(flavour, url))
    assert (r.status_code, r.json()["detail"]) == (401, "Signed URL expired, sign it again")


def test_the_signers_reach_and_nothing_more(flavour: Flavour, data_dir: Path) -> None:
    mine, theirs = _picture(flavour, data_dir, "a0"), _picture(flavour, data_dir, "b0")
    assert _get(flavour.client, theirs, _sign(flavour, theirs, "sci_a")).status_code == 404
    assert _get(flavour.client, mine, _sign(flavour, mine, "sci_b")).status_code == 404
    assert _get(flavour.client, mine, _sign(flavour, mine, "staff")).status_code == 200  # beamline A's staff
    assert _get(flavour.client, theirs, _sign(flavour, theirs, "nobody")).status_code == 404


def test_tokens_do_not_cross(flavour: Flavour, data_dir: Path) -> None:
    url = _picture(flavour, data_dir)
    onetime = _sign(flavour, url)
    login = flavour.token("sci_a")["Authorization"].removeprefix("Bearer ")
    as_bearer = flavour.client.get(url, headers={"Authorization": f"Bearer {onetime}"})
    assert (as_bearer.status_code, as_bearer.json()["detail"]) == (401, "Invalid token: Signature verification failed")
    as_onetime = _get(flavour.client, url, login)
    assert as_onetime.status_code == 401
    assert as_onetime.json()["detail"].startswith("Invalid one-time token: ")
    assert _get(flavour.client, url, "x" * 40).status_code == 401
    assert _get(flavour.client, url, "x" * 4097).status_code == 422
    # a Bearer header, when there is one, is who calls (the one-time token is left unused)
    both = flavour.client.get(url, params={"onetime": onetime}, headers=flavour.token("sci_b"))
    assert both.status_code == 404
    assert _get(flavour.client, url, onetime).status_code == 200


def test_sign_requests(flavour: Flavour) -> None:
    headers = flavour.token("sci_a")
    assert flavour.client.post(f"{API}/user/sign", json={"validity": "/x"}).status_code == 401
    for body in ({}, {"validity": 3}, {"validity": "x" * 4097}):
        assert flavour.client.post(f"{API}/user/sign", json=body, headers=headers).status_code == 422, body
    for validity in ("relative/path", "http://host-only", ""):
        r = flavour.client.post(f"{API}/user/sign", json={"validity": validity}, headers=headers)
        assert (r.status_code, r.json()["title"]) == (422, "Invalid input"), validity
    # py-ispyb's body may carry a token: ignored
    r = flavour.client.post(f"{API}/user/sign", json={"validity": "/y", "token": None}, headers=headers)
    assert r.status_code == 200


def test_used_at_once_by_two_requests_works_once(flavour: Flavour, data_dir: Path) -> None:
    url = _picture(flavour, data_dir)
    token = _sign(flavour, url)
    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(lambda _: _get(flavour.client, url, token).status_code, range(2)))
    assert answers == [200, 401]


def test_another_worker_sees_the_token_used(flavour: Flavour) -> None:
    """Two processes of one service: the second refuses what the first let through (the document store holds used
    tokens). The collection has no image, so a caller let through is answered 404, a refused one 401."""
    url = f"{API}/datacollections/images/diffraction/{flavour.data.dcs['a0']}"
    token = _sign(flavour, url)
    with TestClient(create_app(flavour.settings)) as other:
        assert _get(other, url, token).status_code == 404
        assert _get(flavour.client, url, token).status_code == 401
        second = _sign(flavour, url)
        assert _get(flavour.client, url, second).status_code == 404
        assert _get(other, url, second).status_code == 401
