"""Login plugins and permissions read from ISPyB's own tables, on both flavours."""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app import deps
from app.auth import tokens
from app.main import create_app
from app.settings import Settings
from relational.models import Permission, Person, UserGroup, UserGroupHasPermission, UserGroupHasPerson
from schemas.errors import Unauthorized
from tests.conftest import JWT_SECRET, Flavour, make_settings

LOGIN = "/ispyb/api/v1/auth/login"


def idp_token(key: rsa.RSAPrivateKey, username: str, issuer: str = "https://idp.test", **extra: object) -> str:
    claims = {"preferred_username": username, "iss": issuer, "exp": datetime.now(UTC) + timedelta(minutes=5)}
    return jwt.encode(claims | extra, key, algorithm="RS256")


def test_dummy_login_shape(flavour: Flavour) -> None:
    r = flavour.client.post(LOGIN, json={"plugin": "dummy", "login": "admin_" + flavour.name, "password": "x"})
    body = r.json()
    shape = {"login", "personId", "token", "permissions", "refreshToken", "expiresIn"}
    assert r.status_code == 201 and set(body) == shape
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


async def _grant_all_proposals(db: AsyncSession, person_id: int) -> None:
    group, permission = UserGroup(name="late_admins"), Permission(type="all_proposals")
    db.add_all([group, permission])
    await db.flush()
    db.add_all(
        [
            UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=permission.permissionId),
            UserGroupHasPerson(userGroupId=group.userGroupId, personId=person_id),
        ]
    )


def test_permission_change_takes_effect_without_new_login(flavour: Flavour) -> None:
    headers = flavour.token("promoted")
    url = f"/ispyb/api/v1/sessions/{flavour.data.sessions['a']}"
    assert flavour.client.get(url, headers=headers).status_code == 404
    flavour.run(_grant_all_proposals, flavour.data.persons["promoted"])
    assert flavour.client.get(url, headers=headers).status_code == 200
    current = flavour.client.get("/ispyb/api/v1/user/current", headers=headers).json()
    assert "all_proposals" in current["Permissions"]


def _data_routes() -> list[str]:
    """Every GET route that needs a token, from the app's own OpenAPI, with 1 for each path parameter."""
    spec = create_app(Settings(_env_file=None, mode="dev")).openapi()
    return sorted(
        re.sub(r"\{[^}]+\}", "1", path)
        for path, operations in spec["paths"].items()
        if "get" in operations and operations["get"].get("security")
    )


DATA_ROUTES = _data_routes()


async def _add_person(db: AsyncSession, login: str) -> int:
    person = Person(login=login, givenName="Gone", familyName="Soon")
    db.add(person)
    await db.flush()
    return person.personId


async def _delete_person(db: AsyncSession, person_id: int) -> None:
    await db.execute(delete(Person).where(Person.personId == person_id))


def _login(client: TestClient, login: str) -> dict[str, str]:
    r = client.post(LOGIN, json={"plugin": "dummy", "login": login, "password": "x"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _refused_everywhere(client: TestClient, routes: list[str], headers: dict[str, str]) -> None:
    for route in routes:
        r = client.get(route, headers=headers)
        assert r.status_code == 401, f"GET {route}: {r.status_code} {r.text[:200]}"
        assert r.headers["content-type"].startswith("application/problem+json")


def test_the_routes_come_from_the_openapi() -> None:
    assert {"/ispyb/api/v1/proposals", "/ispyb/api/v1/samples/1", "/ispyb/api/v1/results"} <= set(DATA_ROUTES)
    assert "/ispyb/api/v1/health" not in DATA_ROUTES


@pytest.fixture
def nobody(flavour: Flavour) -> dict[str, dict[str, str]]:
    """Headers of a token for a person who never existed, and of one for a person deleted after logging in."""
    login = f"leaver_{uuid.uuid4().hex[:8]}"
    person_id = flavour.run(_add_person, login)
    deleted = _login(flavour.client, login)
    assert flavour.client.get("/ispyb/api/v1/proposals", headers=deleted).status_code == 200
    flavour.run(_delete_person, person_id)
    ghost = tokens.issue(JWT_SECRET, "ghost", tokens.MAX_PERSON_ID, 5)
    return {"never existed": {"Authorization": f"Bearer {ghost}"}, "deleted": deleted}


@pytest.mark.parametrize("route", DATA_ROUTES)
@pytest.mark.parametrize("who", ["never existed", "deleted"])
def test_a_token_of_a_person_who_does_not_exist_is_401(
    flavour: Flavour, nobody: dict[str, dict[str, str]], who: str, route: str
) -> None:
    _refused_everywhere(flavour.client, [route], nobody[who])


def test_a_token_naming_another_login_for_the_id_is_refused(flavour: Flavour) -> None:
    """A person id taken over by someone else (SQLite reuses the highest id once it is deleted)."""
    forged = tokens.issue(JWT_SECRET, "someone_else", flavour.data.persons["sci_a"], 5)
    r = flavour.client.get("/ispyb/api/v1/proposals", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401, r.text


@pytest.mark.commits  # a second app of its own, which sees only committed rows
def test_a_deleted_person_is_refused_once_the_cache_expires(
    flavour: Flavour, mongo_url: str, oidc_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(deps, "monotonic", lambda: now[0])
    settings = make_settings(flavour.url, mongo_url, flavour.database, oidc_key, permission_cache_seconds=30)
    login = f"cached_{uuid.uuid4().hex[:8]}"
    person_id = flavour.run(_add_person, login)
    with TestClient(create_app(settings)) as client:
        headers = _login(client, login)
        flavour.run(_delete_person, person_id)
        assert client.get("/ispyb/api/v1/proposals", headers=headers).status_code == 200  # still cached
        now[0] += 31
        _refused_everywhere(client, DATA_ROUTES, headers)


def _signed(f: Flavour, claims: dict[str, object]) -> dict[str, str]:
    """sci_a's own claims, changed by ``claims`` (a key set to None is left out)."""
    body = {
        "sub": f"sci_a_{f.name}",
        "personId": f.data.persons["sci_a"],
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    body = {k: v for k, v in (body | claims).items() if v is not None}
    return {"Authorization": f"Bearer {jwt.encode(body, JWT_SECRET, algorithm='HS256')}"}


@pytest.mark.parametrize(
    "claims",
    [
        {"personId": 0},
        {"personId": -1},
        {"personId": 2**32},
        {"personId": 2**63},
        {"personId": 2**64 + 1},
        {"personId": -(2**63) - 1},
        {"personId": 1.0},
        {"personId": "1"},
        {"personId": True},
        {"personId": None},
        {"personId": [1]},
        {"personId": {"$gt": 0}},
        {"sub": ""},
        {"sub": 7},
        {"sub": None},
        {"sub": "SCI_A_x"},
        {"exp": datetime.now(UTC) - timedelta(seconds=1)},
        {"exp": "tomorrow"},
        {"exp": None},
    ],
    ids=repr,
)
def test_hostile_claims_are_401(flavour: Flavour, claims: dict[str, object]) -> None:
    assert flavour.client.get("/ispyb/api/v1/proposals", headers=_signed(flavour, {})).status_code == 200
    for route in ("/ispyb/api/v1/proposals", "/ispyb/api/v1/user/current", "/ispyb/api/v1/samples/1"):
        r = flavour.client.get(route, headers=_signed(flavour, claims))
        assert r.status_code == 401, f"{claims} GET {route}: {r.status_code} {r.text[:200]}"
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_token_checked_once_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token's signature is checked once (kept per token), its expiry at every use; a bad one is never kept."""
    token = tokens.issue(JWT_SECRET, "someone", 7, 1)
    assert tokens.verify(JWT_SECRET, token) == ("someone", 7)
    later = time.time() + 61
    monkeypatch.setattr("app.auth.tokens.time", lambda: later)
    with pytest.raises(Unauthorized, match="Token expired"):
        tokens.verify(JWT_SECRET, token)
    with pytest.raises(Unauthorized, match="Invalid token"):
        tokens.verify("another-secret-another-secret-another", token)


def test_the_current_user_names_the_tokens_person(flavour: Flavour) -> None:
    """``/user/current`` shows the token's person as stored (id, login, names) and reads them without an ORM
    entity: one column SELECT of Person beside the caller's permissions."""
    headers = flavour.token("sci_a")  # logged in first: the login reads the person too
    with flavour.statements() as seen:
        current = flavour.client.get("/ispyb/api/v1/user/current", headers=headers).json()
    login = f"sci_a_{flavour.name}"
    assert {k: current[k] for k in ("personId", "login", "givenName", "familyName")} == {
        "personId": flavour.data.persons["sci_a"], "login": login, "givenName": "sci_a", "familyName": "Test",
    }  # fmt: skip
    names = [s for s in seen if "givenName" in s]
    assert len(names) == 1 and "emailAddress" not in names[0], seen
