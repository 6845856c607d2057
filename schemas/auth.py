"""Login, tokens, API keys and the current user."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.times import UtcDatetime

#: ``Person.login`` is varchar(45) in both flavours
Login45 = Annotated[str, StringConstraints(min_length=1, max_length=45)]
#: ``Permission.type`` is varchar(15) in both flavours
PermissionType = Annotated[str, StringConstraints(min_length=1, max_length=15)]


class Login(BaseModel):
    plugin: str | None = None
    login: str | None = None
    password: str | None = None
    token: str | None = None


class TokenResponse(BaseModel):
    """py-ispyb's login answer, plus what MXCuBE's PyISPyB client reads: ``refreshToken`` (null when the document
    store could not keep one: the session then ends with the access token) and ``expiresIn``."""

    login: str
    personId: int
    token: str
    permissions: list[str]
    refreshToken: str | None = Field(description="Single use: POST /auth/refresh answers a new one with a new token")
    expiresIn: int = Field(description="Seconds the access token lives")


class Refresh(BaseModel):
    refreshToken: str = Field(min_length=1, max_length=200, description="The last refresh token received")


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


class ApiKeyCreate(BaseModel):
    """A service identity: acts as the Person ``login`` with ``permissions`` (each one the person holds), until
    ``expiresAt`` or for ``days`` (neither: the longest allowed, ISPYB_API_KEY_MAX_DAYS)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    login: Login45 = Field(description="An existing Person's login, e.g. mxcube-i03")
    permissions: list[PermissionType] = Field(max_length=100, description="A subset of the person's permissions")
    expiresAt: UtcDatetime | None = Field(None, description="Naive means UTC")
    days: int | None = Field(None, ge=1, le=3650)

    @model_validator(mode="after")
    def _one_expiry(self) -> "ApiKeyCreate":
        if self.expiresAt is not None and self.days is not None:
            raise ValueError("give `expiresAt` or `days`, not both")
        return self


class Creator(BaseModel):
    personId: int
    login: str


class ApiKey(BaseModel):
    """A key as listed: never its secret."""

    keyId: str
    name: str
    login: str
    personId: int
    permissions: list[str]
    createdAt: datetime
    createdBy: Creator
    expiresAt: datetime
    revokedAt: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="Shown this once: send it as `Authorization: Bearer <key>`")
