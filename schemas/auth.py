"""Login, tokens and the current user."""

from typing import Any

from pydantic import BaseModel


class Login(BaseModel):
    plugin: str | None = None
    login: str | None = None
    password: str | None = None
    token: str | None = None


class TokenResponse(BaseModel):
    login: str
    personId: int
    token: str
    permissions: list[str]


class PluginConfig(BaseModel):
    name: str
    config: dict[str, Any]


class AuthConfig(BaseModel):
    plugins: list[PluginConfig]


class CurrentUser(BaseModel):
    personId: int
    login: str
    givenName: str | None
    familyName: str | None
    Permissions: list[str]
    beamLineGroups: list[str]
    beamLines: list[str]
