"""API keys on both flavours: staff holding ISPYB_API_KEY_PERMISSION create, list and revoke them; a key acts as
its person with the key's permissions that the person still holds; expired or revoked keys are refused; the secret
is kept only as a hash; the document store down: a cached key works on, an uncached one answers 503."""

import hashlib
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import api_keys
from app.cli.embedded import DocumentServer
from app.main import create_app
from app.state import AppState
from relational.models import Permission, UserGroup, UserGroupHasPermission, UserGroupHasPerson
from schemas.auth import ApiKeyCreate, Creator
from schemas.times import utc_now
from tests.conftest import Flavour, make_settings
from tests.factories import STAFF_PERMISSION

API = "/ispyb/api/v1"
KEYS = f"{API}/api-keys"
MANAGE = "manage_api_keys"


async def grant(db: AsyncSession, person_id: int, permission: str) -> int:
    """``permission`` for a person through a group of their own; the group's id."""
    group, row = UserGroup(name=f"g_{uuid.uuid4().hex[:10]}"), Permission(type=permission)
    db.add_all([group, row])
    await db.flush()
    db.add_all(
        [
            UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=row.permissionId),
            UserGroupHasPerson(userGroupId=group.userGroupId, personId=person_id),
        ]
    )
    return group.userGroupId


async def leave_groups(db: AsyncSession, person_id: int) -> None:
    await db.execute(delete(UserGroupHasPerson).where(UserGroupHasPerson.personId == person_id))


@pytest.fixture
def manager(flavour: Flavour) -> dict[str, str]:
    """Headers of admin, who may manage keys."""
    flavour.run(grant, flavour.data.persons["admin"], MANAGE)
    return flavour.token("admin")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create(f: Flavour, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body = {"name": "mxcube tb01", "login": f"staff_{f.name}", "permissions": [STAFF_PERMISSION]} | body
    r = f.client.post(KEYS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def stored_keys(f: Flavour) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        return await f.state.documents.db.api_keys.find({}).to_list()

    return f.client.portal.call(read)  # type: ignore[union-attr]


def test_create_list_revoke(flavour: Flavour, manager: dict[str, str]) -> None:
    f = flavour
    before = utc_now()
    created = create(f, manager, days=30)
    assert set(created) == {
        "keyId", "name", "login", "personId", "permissions", "createdAt", "createdBy", "expiresAt", "revokedAt", "key"
    }  # fmt: skip
    assert created["key"] == f"ispyb_{created['keyId']}_{created['key'][-43:]}"
    assert (created["name"], created["login"], created["personId"]) == (
        "mxcube tb01",
        f"staff_{f.name}",
        f.data.persons["staff"],
    )
    assert created["permissions"] == [STAFF_PERMISSION] and created["revokedAt"] is None
    assert created["createdBy"] == {"personId": f.data.persons["admin"], "login": f"admin_{f.name}"}
    expires = datetime.fromisoformat(created["expiresAt"])
    assert before + timedelta(days=30) - timedelta(seconds=1) <= expires <= utc_now() + timedelta(days=30)
    other = create(f, manager, name="gda", permissions=[])
    listed = f.client.get(KEYS, headers=manager)
    assert listed.status_code == 200
    shown = {k: v for k, v in created.items() if k != "key"}
    assert listed.json() == [{k: v for k, v in other.items() if k != "key"}, shown]
    assert '"key"' not in listed.text and "secretHash" not in listed.text and created["key"][-43:] not in listed.text
    r = f.client.delete(f"{KEYS}/{created['keyId']}", headers=manager)
    assert r.status_code == 200 and r.json()["revokedAt"] is not None, r.text
    assert {k: v for k, v in r.json().items() if k != "revokedAt"} == {
        k: v for k, v in shown.items() if k != "revokedAt"
    }
    again = f.client.delete(f"{KEYS}/{created['keyId']}", headers=manager)
    assert again.status_code == 200 and again.json()["revokedAt"] == r.json()["revokedAt"]  # the first one stands
    assert [k["revokedAt"] is None for k in f.client.get(KEYS, headers=manager).json()] == [True, False]
    assert f.client.delete(f"{KEYS}/{'0' * 16}", headers=manager).status_code == 404
    assert f.client.delete(f"{KEYS}/not-a-key-id", headers=manager).status_code == 422


def test_a_key_acts_as_its_person_with_its_permissions(flavour: Flavour, manager: dict[str, str]) -> None:
    f = flavour
    session = f"{API}/sessions/{f.data.sessions['a']}"  # on tb01: staff reach it through tb_staff
    full = create(f, manager)
    r = f.client.get(f"{API}/user/current", headers=bearer(full["key"]))
    assert r.status_code == 200, r.text
    me = r.json()
    assert (me["login"], me["personId"], me["Permissions"]) == (
        f"staff_{f.name}",
        f.data.persons["staff"],
        [STAFF_PERMISSION],
    )
    assert f.client.get(session, headers=bearer(full["key"])).status_code == 200
    bare = create(f, manager, permissions=[])
    assert f.client.get(f"{API}/user/current", headers=bearer(bare["key"])).json()["Permissions"] == []
    assert f.client.get(session, headers=bearer(bare["key"])).status_code == 404


def test_a_key_never_carries_a_permission_its_person_lacks(flavour: Flavour, manager: dict[str, str]) -> None:
    f = flavour
    r = f.client.post(
        KEYS, json={"name": "x", "login": f"staff_{f.name}", "permissions": [STAFF_PERMISSION, "all_proposals"]},
        headers=manager,
    )  # fmt: skip
    assert r.status_code == 422 and "all_proposals" in r.json()["detail"] and STAFF_PERMISSION not in r.json()["detail"]
    key = create(f, manager)
    f.run(leave_groups, f.data.persons["staff"])  # the person loses tb_staff: the key narrows with them
    me = f.client.get(f"{API}/user/current", headers=bearer(key["key"]))
    assert me.status_code == 200 and me.json()["Permissions"] == []
    assert f.client.get(f"{API}/sessions/{f.data.sessions['a']}", headers=bearer(key["key"])).status_code == 404


def test_revoked_expired_and_forged_keys_are_refused(
    flavour: Flavour, manager: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = flavour
    key = create(f, manager, days=1)
    me = f"{API}/user/current"
    assert f.client.get(me, headers=bearer(key["key"])).status_code == 200
    wrong_secret = key["key"][:-43] + ("A" if key["key"][-43] != "A" else "B") + key["key"][-42:]
    unknown = f"ispyb_{'0' * 16}_{key['key'][-43:]}"
    for forged, why in ((wrong_secret, "Invalid API key"), (unknown, "Unknown API key"), ("ispyb_x", "Malformed")):
        r = f.client.get(me, headers=bearer(forged))
        assert r.status_code == 401 and why in r.json()["detail"], r.text
    later = utc_now() + timedelta(days=1, seconds=1)
    monkeypatch.setattr(api_keys, "utc_now", lambda: later)
    r = f.client.get(me, headers=bearer(key["key"]))
    assert r.status_code == 401 and "expired" in r.json()["detail"], r.text
    monkeypatch.undo()
    assert f.client.delete(f"{KEYS}/{key['keyId']}", headers=manager).status_code == 200
    r = f.client.get(me, headers=bearer(key["key"]))
    assert r.status_code == 401 and "revoked" in r.json()["detail"], r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_the_secret_is_kept_only_as_a_hash(flavour: Flavour, manager: dict[str, str]) -> None:
    key = create(flavour, manager)
    secret = key["key"][-43:]
    (doc,) = stored_keys(flavour)
    assert doc["_id"] == key["keyId"] and doc["secretHash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(doc) and key["key"] not in repr(doc)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"login": "nobody-has-this-login"}, "login"),
        ({"permissions": ["pipeline_write"]}, "permissions"),
        ({"days": 366}, "days"),
        ({"expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt"),
        ({"expiresAt": (datetime.now(UTC) + timedelta(days=400)).isoformat()}, "expiresAt"),
        ({"expiresAt": (datetime.now(UTC) + timedelta(days=3)).isoformat(), "days": 3}, "not both"),
        ({"days": 0}, "days"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"login": "x" * 46}, "login"),
        ({"permissions": ["x" * 16]}, "permissions"),
        ({"permissions": "tb_staff"}, "permissions"),
    ],
    ids=repr,
)
def test_bad_keys_are_422_naming_the_field(
    flavour: Flavour, manager: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {"name": "x", "login": f"staff_{flavour.name}", "permissions": [STAFF_PERMISSION]} | change
    r = flavour.client.post(KEYS, json=body, headers=manager)
    assert r.status_code == 422, r.text
    assert field in str(r.json()["detail"])
    assert stored_keys(flavour) == []


def test_who_may_manage_keys(flavour: Flavour, manager: dict[str, str]) -> None:
    f = flavour
    body = {"name": "x", "login": f"staff_{f.name}", "permissions": []}
    key = create(f, manager)
    for headers, status in (
        ({}, 401),
        (f.token("staff"), 403),
        (f.token("sci_a"), 403),
        (bearer(key["key"]), 403),  # a key cannot mint keys, even one of a manager's
    ):
        for method, url, json in (
            ("POST", KEYS, body),
            ("GET", KEYS, None),
            ("DELETE", f"{KEYS}/{key['keyId']}", None),
        ):
            r = f.client.request(method, url, json=json, headers=headers)
            assert r.status_code == status, (method, headers, r.text)
            assert r.headers["content-type"] == "application/problem+json"
    assert len(stored_keys(f)) == 1 and stored_keys(f)[0]["revokedAt"] is None


def test_a_manager_key_cannot_manage_keys(flavour: Flavour, manager: dict[str, str]) -> None:
    key = create(flavour, manager, login=f"admin_{flavour.name}", permissions=[MANAGE])
    r = flavour.client.get(KEYS, headers=bearer(key["key"]))
    assert r.status_code == 403 and "login's token" in r.json()["detail"]


async def _make_key(state: AppState, login: str, name: str) -> str:
    async with state.database.read_sessions() as db:
        data = ApiKeyCreate(name=name, login=login, permissions=[STAFF_PERMISSION], days=1)
        creator = Creator(personId=1, login="test")
        created = await api_keys.create(state.documents, db, 1, creator, data, frozenset([STAFF_PERMISSION]))
    return created.key


async def _revoke_behind(state: AppState, key_id: str) -> None:
    """Revoke as another process would: in the store only, this process's cache left alone."""
    await state.documents.db.api_keys.update_one({"_id": key_id}, {"$set": {"revokedAt": utc_now()}})


def test_cache_and_document_store_down(
    flavour: Flavour, oidc_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key read within permission_cache_seconds works while the store is down; one never read answers 503; a
    revocation made elsewhere takes effect once the cached copy expires."""
    now = [1000.0]
    monkeypatch.setattr(api_keys, "monotonic", lambda: now[0])
    server = DocumentServer(":memory:").start()
    settings = make_settings(
        flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400, permission_cache_seconds=30
    )
    me = f"{API}/user/current"
    try:
        with TestClient(create_app(settings)) as client:
            state: AppState = client.app.state.ispyb  # type: ignore[attr-defined]
            assert client.portal is not None
            login = f"staff_{flavour.name}"
            cached, uncached, revoked = (client.portal.call(_make_key, state, login, n) for n in ("a", "b", "c"))
            assert client.get(me, headers=bearer(cached)).status_code == 200
            assert client.get(me, headers=bearer(revoked)).status_code == 200
            client.portal.call(_revoke_behind, state, revoked[6:22])
            assert client.get(me, headers=bearer(revoked)).status_code == 200  # still cached here
            now[0] += 31
            r = client.get(me, headers=bearer(revoked))
            assert r.status_code == 401 and "revoked" in r.json()["detail"], r.text
            assert client.get(me, headers=bearer(cached)).status_code == 200  # read again, cached again
            server.stop()
            r = client.get(me, headers=bearer(cached))
            assert r.status_code == 200 and r.json()["login"] == login
            r = client.get(me, headers=bearer(uncached))
            assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
            assert r.headers["content-type"] == "application/problem+json"
            now[0] += 31
            assert client.get(me, headers=bearer(cached)).status_code == 503  # fail closed once the entry expired
    finally:
        server.stop()


def test_a_hung_document_store_answers_503_in_time(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    server = DocumentServer(":memory:").start()
    assert server.process is not None
    settings = make_settings(flavour.url, server.url, f"t{uuid.uuid4().hex[:6]}", oidc_key, mongo_timeout_ms=400)
    try:
        with TestClient(create_app(settings)) as client:
            assert client.portal is not None
            state: AppState = client.app.state.ispyb  # type: ignore[attr-defined]
            key = client.portal.call(_make_key, state, f"staff_{flavour.name}", "k")
            server.process.send_signal(signal.SIGSTOP)
            try:
                started = time.monotonic()
                r = client.get(f"{API}/user/current", headers=bearer(key))
                assert r.status_code == 503 and time.monotonic() - started < 4.5, (r.status_code, r.text)
            finally:
                server.process.send_signal(signal.SIGCONT)
    finally:
        server.stop()
