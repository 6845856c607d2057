"""MXCuBE's login: the oidc plugin answers to ``keycloak``, takes the user from the token (never from ``login``)
and answers a refresh token and the access token's lifetime beside py-ispyb's fields."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from app.auth.plugins import enabled_plugins
from app.settings import Settings
from tests.conftest import Flavour
from tests.test_auth import idp_token

API = "/ispyb/api/v1"


def test_keycloak_login_takes_the_user_from_the_token(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    login = f"staff_{flavour.name}"
    for claimed in ("", f"sci_b_{flavour.name}", None):  # MXCuBE sends "", a client may send anything
        body = {"plugin": "keycloak", "login": claimed, "token": idp_token(oidc_key, login)}
        r = flavour.client.post(f"{API}/auth/login", json=body)
        assert r.status_code == 201, r.text
        answer = r.json()
        assert set(answer) == {"login", "personId", "token", "permissions", "refreshToken", "expiresIn"}
        assert answer["login"] == login and answer["personId"] == flavour.data.persons["staff"]
        assert answer["permissions"] == ["tb_staff"]
        assert answer["expiresIn"] == flavour.settings.jwt_lifetime_minutes * 60
        assert isinstance(answer["refreshToken"], str) and len(answer["refreshToken"]) >= 43
        me = flavour.client.get(f"{API}/user/current", headers={"Authorization": f"Bearer {answer['token']}"})
        assert me.status_code == 200 and me.json()["login"] == login


def test_every_login_gets_its_own_refresh_token(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    body = {"plugin": "keycloak", "login": "", "token": idp_token(oidc_key, f"sci_a_{flavour.name}")}
    first, second = (flavour.client.post(f"{API}/auth/login", json=body).json() for _ in range(2))
    assert first["refreshToken"] != second["refreshToken"]
    dummy = flavour.client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": f"sci_a_{flavour.name}"})
    assert dummy.status_code == 201 and dummy.json()["refreshToken"] not in (None, first["refreshToken"])


def test_keycloak_refuses_what_oidc_refuses(flavour: Flavour, oidc_key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    login = f"sci_a_{flavour.name}"
    for body, status in (
        ({"plugin": "keycloak", "login": login, "token": idp_token(other, login)}, 401),
        ({"plugin": "keycloak", "login": login, "token": idp_token(oidc_key, login, issuer="https://evil")}, 401),
        ({"plugin": "keycloak", "login": "", "token": idp_token(oidc_key, "nobody-here")}, 401),
        ({"plugin": "keycloak", "login": login}, 422),  # a login alone is never enough
        ({"plugin": "keycloak", "login": login, "password": "x"}, 422),
    ):
        r = flavour.client.post(f"{API}/auth/login", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_the_config_lists_the_alias(flavour: Flavour) -> None:
    plugins = flavour.client.get(f"{API}/auth/config").json()["plugins"]
    assert [p["name"] for p in plugins] == ["dummy", "oidc", "keycloak"]
    assert plugins[2]["config"] == plugins[1]["config"] == {"issuer": "https://idp.test", "audience": None}


def test_keycloak_is_there_only_with_oidc() -> None:
    with_oidc = Settings(_env_file=None, mode="dev", auth_plugins=["oidc"], oidc_public_key="k")
    plugins = enabled_plugins(with_oidc)
    assert list(plugins) == ["oidc", "keycloak"] and plugins["keycloak"] is plugins["oidc"]
    assert list(enabled_plugins(Settings(_env_file=None, mode="dev", auth_plugins=["dummy"]))) == ["dummy"]
    with pytest.raises(ValidationError, match="keycloak is the oidc plugin's other name"):
        Settings(_env_file=None, mode="dev", auth_plugins=["keycloak"])
