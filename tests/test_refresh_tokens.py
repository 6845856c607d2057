"""Refresh tokens on both flavours: rotation, single use with a grace window for MXCuBE's concurrent greenlets,
family revocation on reuse, expiry, the person re-checked, only hashes stored, and the document store down."""

import hashlib
import json
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.auth import refresh, tokens
from app.cli.embedded import DocumentServer
from app.main import create_app
from schemas.times import utc_now
from tests.conftest import JWT_SECRET, Flavour, make_settings
from tests.test_auth import _add_person, _delete_person, idp_token

API = "/ispyb/api/v1"


class Clock:
    """The refresh module's clock, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        monkeypatch.setattr(refresh, "utc_now", lambda: utc_now() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def login(client: TestClient, who: str) -> dict[str, Any]:
    r = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": who})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def renew(client: TestClient, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
    r: httpx.Response = client.post(f"{API}/auth/refresh", json={"refreshToken": token}, headers=headers or {})
    return r


def stored(f: Flavour, collection: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        return await f.state.documents.db[collection].find({}).to_list()

    return f.client.portal.call(read)  # type: ignore[union-attr]


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_refresh_rotates(flavour: Flavour) -> None:
    who = f"staff_{flavour.name}"
    first = login(flavour.client, who)
    r = renew(flavour.client, first["refreshToken"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert set(second) == {"login", "personId", "token", "permissions", "refreshToken", "expiresIn"}
    assert (second["login"], second["personId"], second["permissions"]) == (
        who,
        flavour.data.persons["staff"],
        ["tb_staff"],
    )
    assert second["expiresIn"] == flavour.settings.jwt_lifetime_minutes * 60
    assert second["refreshToken"] != first["refreshToken"]
    assert tokens.verify(JWT_SECRET, second["token"]) == (who, flavour.data.persons["staff"])
    me = flavour.client.get(f"{API}/user/current", headers={"Authorization": f"Bearer {second['token']}"})
    assert me.status_code == 200 and me.json()["login"] == who
    third = renew(flavour.client, second["refreshToken"])
    assert third.status_code == 200 and third.json()["refreshToken"] not in (
        first["refreshToken"],
        second["refreshToken"],
    )


def test_refresh_ignores_the_bearer_header(flavour: Flavour) -> None:
    """MXCuBE sends its stale (maybe expired) access token along: it neither helps nor hurts."""
    first = login(flavour.client, f"sci_a_{flavour.name}")
    expired = tokens.issue(JWT_SECRET, f"sci_a_{flavour.name}", flavour.data.persons["sci_a"], -5)
    chain = first["refreshToken"]
    for header in ("Bearer garbage", f"Bearer {expired}", "Basic eDp5", f"Bearer {first['token']}"):
        r = renew(flavour.client, chain, {"Authorization": header})
        assert r.status_code == 200, (header, r.text)
        chain = r.json()["refreshToken"]


def test_reuse_after_the_grace_window_revokes_the_family(flavour: Flavour, clock: Clock) -> None:
    first = login(flavour.client, f"sci_a_{flavour.name}")
    other = login(flavour.client, f"sci_a_{flavour.name}")  # another login of the same person: another family
    successor = renew(flavour.client, first["refreshToken"]).json()["refreshToken"]
    clock.advance(flavour.settings.refresh_grace_seconds + 1)
    r = renew(flavour.client, first["refreshToken"])
    assert r.status_code == 401 and "already used" in r.json()["detail"], r.text
    assert r.headers["content-type"] == "application/problem+json"
    r = renew(flavour.client, successor)
    assert r.status_code == 401 and "revoked" in r.json()["detail"], r.text
    families = {doc["_id"]: doc for doc in stored(flavour, "refresh_families")}
    assert len(families) == 2
    revoked = [doc for doc in families.values() if doc["revokedAt"] is not None]
    assert len(revoked) == 1 and revoked[0]["personId"] == flavour.data.persons["sci_a"]
    assert renew(flavour.client, other["refreshToken"]).status_code == 200  # the other login goes on


def test_a_repeat_within_the_grace_window_gets_the_same_successor(flavour: Flavour, clock: Clock) -> None:
    first = login(flavour.client, f"sci_a_{flavour.name}")
    one = renew(flavour.client, first["refreshToken"]).json()
    clock.advance(flavour.settings.refresh_grace_seconds - 2)
    two = renew(flavour.client, first["refreshToken"])
    assert two.status_code == 200, two.text
    assert two.json()["refreshToken"] == one["refreshToken"]
    children = [doc for doc in stored(flavour, "refresh_tokens") if doc.get("parent") == sha(first["refreshToken"])]
    assert len(children) == 1 and children[0]["_id"] == sha(one["refreshToken"])
    third = renew(flavour.client, one["refreshToken"])
    assert third.status_code == 200 and all(doc["revokedAt"] is None for doc in stored(flavour, "refresh_families"))


def test_concurrent_refreshes_both_succeed(flavour: Flavour) -> None:
    """Two greenlets refreshing with the same token at once (MXCuBE has no lock around its refresh)."""
    first = login(flavour.client, f"sci_b_{flavour.name}")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: renew(flavour.client, first["refreshToken"]), range(4)))
    assert [r.status_code for r in answers] == [200] * 4
    assert len({r.json()["refreshToken"] for r in answers}) == 1
    assert renew(flavour.client, answers[0].json()["refreshToken"]).status_code == 200


def test_an_expired_refresh_token_is_refused(flavour: Flavour, clock: Clock) -> None:
    first = login(flavour.client, f"sci_a_{flavour.name}")
    second = renew(flavour.client, first["refreshToken"]).json()
    clock.advance(flavour.settings.refresh_token_hours * 3600 + 1)
    r = renew(flavour.client, second["refreshToken"])
    assert r.status_code == 401 and "expired" in r.json()["detail"], r.text


def test_the_person_is_checked_again(flavour: Flavour) -> None:
    who = f"leaver_{uuid.uuid4().hex[:8]}"
    person_id = flavour.run(_add_person, who)
    first = login(flavour.client, who)
    flavour.run(_delete_person, person_id)
    r = renew(flavour.client, first["refreshToken"])
    assert r.status_code == 401 and "no longer exists" in r.json()["detail"], r.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"refreshToken": "not-one-of-ours"}, 401),
        ({"refreshToken": "\udcff"}, 422),  # refused by the JSON guard
        ({"refreshToken": ""}, 422),
        ({"refreshToken": "x" * 201}, 422),
        ({"refreshToken": 7}, 422),
        ({"refreshToken": None}, 422),
        ({}, 422),
        ([], 422),
    ],
    ids=repr,
)
def test_bad_refresh_requests(flavour: Flavour, body: object, status: int) -> None:
    raw = json.dumps(body)  # ASCII: a lone surrogate goes as its escape
    r = flavour.client.post(f"{API}/auth/refresh", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_only_hashes_are_stored(flavour: Flavour) -> None:
    first = login(flavour.client, f"sci_a_{flavour.name}")
    second = renew(flavour.client, first["refreshToken"]).json()
    docs = stored(flavour, "refresh_tokens")
    assert sorted(doc["_id"] for doc in docs) == sorted([sha(first["refreshToken"]), sha(second["refreshToken"])])
    text = repr(docs) + repr(stored(flavour, "refresh_families"))
    assert first["refreshToken"] not in text and second["refreshToken"] not in text
    for doc in docs:
        assert set(doc) == {"_id", "family", "personId", "login", "createdAt", "expiresAt", "usedAt"} | (
            {"parent"} if doc["_id"] == sha(second["refreshToken"]) else set()
        )
        assert isinstance(doc["expiresAt"], datetime) and doc["expiresAt"] > utc_now()


def test_document_store_down(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    """Refresh answers 503 (MXCuBE retries at its next call); login still answers a token, without a refresh
    token (MXCuBE works on until the access token expires); both recover without a restart."""
    server = DocumentServer(":memory:").start()
    port = server.port
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400)
    keycloak = {"plugin": "keycloak", "login": "", "token": idp_token(oidc_key, f"sci_a_{flavour.name}")}
    try:
        with TestClient(create_app(settings)) as client:
            up = client.post(f"{API}/auth/login", json=keycloak).json()
            server.stop()
            down = renew(client, up["refreshToken"])
            assert down.status_code == 503 and int(down.headers["Retry-After"]) > 0, down.text
            assert down.headers["content-type"] == "application/problem+json"
            r = client.post(f"{API}/auth/login", json=keycloak)
            assert r.status_code == 201 and r.json()["refreshToken"] is None, r.text
            assert r.json()["expiresIn"] == settings.jwt_lifetime_minutes * 60
            me = client.get(f"{API}/user/current", headers={"Authorization": f"Bearer {r.json()['token']}"})
            assert me.status_code == 200
            server = DocumentServer(":memory:", port=port).start()  # empty: the old tokens are gone with it
            for _ in range(40):
                back = client.post(f"{API}/auth/login", json=keycloak)
                if back.json()["refreshToken"] is not None:
                    break
            assert renew(client, back.json()["refreshToken"]).status_code == 200
    finally:
        server.stop()


def test_a_rotation_whose_successor_was_never_stored_is_no_reuse(flavour: Flavour, clock: Clock) -> None:
    """The first attempt marked the token used, then failed before storing its successor (the store went away):
    nobody holds a successor, so the retry, even after the grace window, is answered and revokes nothing."""
    first = login(flavour.client, f"sci_a_{flavour.name}")

    async def mark_used() -> None:
        await flavour.state.documents.db.refresh_tokens.update_one(
            {"_id": sha(first["refreshToken"])}, {"$set": {"usedAt": utc_now()}}
        )

    flavour.client.portal.call(mark_used)  # type: ignore[union-attr]
    clock.advance(flavour.settings.refresh_grace_seconds + 1)
    r = renew(flavour.client, first["refreshToken"])
    assert r.status_code == 200, r.text
    assert [doc["revokedAt"] for doc in stored(flavour, "refresh_families")] == [None]
    clock.advance(flavour.settings.refresh_grace_seconds + 1)  # now its successor is stored: a reuse
    assert renew(flavour.client, first["refreshToken"]).status_code == 401
    assert renew(flavour.client, r.json()["refreshToken"]).status_code == 401


def test_a_hung_document_store_answers_503_in_time(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    """MXCuBE gives up after 5 s: a hung store must answer before (twice the store's time-out)."""
    server = DocumentServer(":memory:").start()
    assert server.process is not None
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400)
    try:
        with TestClient(create_app(settings)) as client:
            up = login(client, f"sci_a_{flavour.name}")
            server.process.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                r = renew(client, up["refreshToken"])
                took = time.monotonic() - started
                assert r.status_code == 503 and took < 3, (took, r.text)
                started = time.monotonic()
                hung = login(client, f"sci_a_{flavour.name}")
                assert hung["refreshToken"] is None and time.monotonic() - started < 4.5
            finally:
                server.process.send_signal(signal.SIGCONT)
            for _ in range(40):
                r = renew(client, up["refreshToken"])
                if r.status_code != 503:
                    break
                time.sleep(0.25)
            assert r.status_code == 200, r.text
    finally:
        server.stop()
