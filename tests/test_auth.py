"""Login plugins and permissions read from ISPyB's own tables, on both flavours."""

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from relational.db import Database
from relational.models import Permission, UserGroup, UserGroupHasPermission, UserGroupHasPerson
from tests.conftest import Flavour

LOGIN = "/ispyb/api/v1/auth/login"


def idp_token(key: rsa.RSAPrivateKey, username: str, issuer: str = "https://idp.test", **extra: object) -> str:
    claims = {"preferred_username": username, "iss": issuer, "exp": datetime.now(UTC) + timedelta(minutes=5)}
    return jwt.encode(claims | extra, key, algorithm="RS256")


def test_dummy_login_shape(flavour: Flavour) -> None:
    r = flavour.client.post(LOGIN, json={"plugin": "dummy", "login": "admin_" + flavour.name, "password": "x"})
    body = r.json()
    assert r.status_code == 201 and set(body) == {"login", "personId", "token", "permissions"}
    assert body["permissions"] == ["all_proposals"] and body["personId"] == flavour.data.persons["admin"]


def test_unknown_login_is_401(flavour: Flavour) -> None:
    r = flavour.client.post(LOGIN, json={"plugin": "dummy", "login": "nobody-at-all", "password": "x"})
    assert r.status_code == 401 and "does not exist" in r.json()["detail"]
    r = flavour.client.post(LOGIN, json={"plugin": "ldap", "login": "x"})
    assert r.status_code == 422


def test_oidc_plugin(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    login = "sci_a_" + flavour.name
    r = flavour.client.post(LOGIN, json={"plugin": "oidc", "token": idp_token(oidc_key, login)})
    assert r.status_code == 201 and r.json()["login"] == login
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (
        idp_token(other, login),
        idp_token(oidc_key, login, issuer="https://evil"),
        idp_token(oidc_key, login, exp=datetime.now(UTC) - timedelta(minutes=1)),
    ):
        r = flavour.client.post(LOGIN, json={"plugin": "oidc", "token": token})
        assert r.status_code == 401, r.text
    assert flavour.client.post(LOGIN, json={"plugin": "oidc"}).status_code == 422


async def _grant_all_proposals(url: str, person_id: int) -> None:
    database = Database(url)
    try:
        async with database.sessions() as db:
            group, permission = UserGroup(name="late_admins"), Permission(type="all_proposals")
            db.add_all([group, permission])
            await db.flush()
            db.add_all(
                [
                    UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=permission.permissionId),
                    UserGroupHasPerson(userGroupId=group.userGroupId, personId=person_id),
                ]
            )
            await db.commit()
    finally:
        await database.dispose()


def test_permission_change_takes_effect_without_new_login(flavour: Flavour) -> None:
    headers = flavour.token("promoted")
    url = f"/ispyb/api/v1/sessions/{flavour.data.sessions['a']}"
    assert flavour.client.get(url, headers=headers).status_code == 404
    asyncio.run(_grant_all_proposals(flavour.url, flavour.data.persons["promoted"]))
    assert flavour.client.get(url, headers=headers).status_code == 200
    current = flavour.client.get("/ispyb/api/v1/user/current", headers=headers).json()
    assert "all_proposals" in current["Permissions"]
