"""Settings read from ISPYB_* variables: list forms, and what production mode refuses."""

import os

import pytest
from pydantic import ValidationError

from app.settings import DEV_JWT_SECRET, Settings

STRONG = "s" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ISPYB_* from the outer environment; dev mode unless a test says otherwise."""
    for key in list(os.environ):
        if key.startswith("ISPYB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ISPYB_MODE", "dev")


@pytest.mark.parametrize(
    "raw", ["http://localhost:3000, https://ui.example.org", '["http://localhost:3000", "https://ui.example.org"]']
)
def test_lists_read_comma_separated_or_json(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ISPYB_CORS_ORIGINS", raw)
    assert Settings().cors_origins == ["http://localhost:3000", "https://ui.example.org"]


def test_malformed_json_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISPYB_CORS_ORIGINS", '["http://localhost:3000"')
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "short"])
def test_production_refuses_a_weak_secret(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("ISPYB_MODE", "production")
    monkeypatch.setenv("ISPYB_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="ISPYB_JWT_SECRET"):
        Settings()


def test_production_accepts_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISPYB_MODE", "production")
    monkeypatch.setenv("ISPYB_JWT_SECRET", STRONG)
    assert Settings().jwt_secret == STRONG


def test_unknown_plugin_and_keyless_oidc_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISPYB_AUTH_PLUGINS", "dummy,ldap")
    with pytest.raises(ValidationError, match="unknown plugin"):
        Settings()
    monkeypatch.setenv("ISPYB_AUTH_PLUGINS", "oidc")
    with pytest.raises(ValidationError, match="ISPYB_OIDC_JWKS_URL"):
        Settings()


@pytest.mark.parametrize(("seconds", "taken"), [("0", True), ("0.001", False), ("59.9", False), ("60", True)])
def test_the_look_for_unfolded_metrics_is_off_or_a_minute_at_least(
    monkeypatch: pytest.MonkeyPatch, seconds: str, taken: bool
) -> None:
    """Shorter, it would fold batches still being stored (leaving their late metrics out) and look in a busy loop."""
    monkeypatch.setenv("ISPYB_UNFOLDED_METRICS_SECONDS", seconds)
    if taken:
        assert Settings().unfolded_metrics_seconds == float(seconds)
    else:
        with pytest.raises(ValidationError, match="ISPYB_UNFOLDED_METRICS_SECONDS"):
            Settings()
