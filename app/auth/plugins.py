"""Login plugins: ``dummy`` (any password, for dev/demo) and ``oidc`` (an identity provider's JWT; it also
answers to ``keycloak``, the name MXCuBE's PyISPyB client sends)."""

from collections.abc import Callable
from typing import Any, Protocol

import anyio.to_thread
import jwt

from app.settings import Settings
from schemas.errors import InvalidInput, Unauthorized


class LoginPlugin(Protocol):
    name: str

    async def authenticate(self, login: str | None, password: str | None, token: str | None) -> str:
        """The verified login, or ``Unauthorized``."""
        ...

    def export_config(self) -> dict[str, Any]:
        """What a client needs to know to use this plugin (served by ``GET /auth/config``)."""
        ...


class DummyPlugin:
    """Accepts any password for an existing login. Enable only for development and demos."""

    name = "dummy"

    async def authenticate(self, login: str | None, password: str | None, token: str | None) -> str:
        if not login:
            raise InvalidInput("the dummy plugin needs a login")
        return login

    def export_config(self) -> dict[str, Any]:
        return {}


class OidcPlugin:
    """Verifies an identity provider's JWT (JWKS or a fixed public key) and takes the login from a claim."""

    name = "oidc"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.oidc_jwks_url) if settings.oidc_jwks_url else None

    async def _key(self, token: str) -> Any:
        if self._jwks is None:
            return self.settings.oidc_public_key
        jwks = self._jwks
        return (await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)).key

    async def authenticate(self, login: str | None, password: str | None, token: str | None) -> str:
        if not token:
            raise InvalidInput("the oidc plugin needs the identity provider's token in `token`")
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                await self._key(token),
                algorithms=s.oidc_algorithms,
                issuer=s.oidc_issuer,
                audience=s.oidc_audience,
                options={"verify_aud": s.oidc_audience is not None, "verify_iss": s.oidc_issuer is not None},
            )
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthorized(f"Identity provider token rejected: {exc}") from None
        username = claims.get(s.oidc_username_claim)
        if not isinstance(username, str) or not username:
            raise Unauthorized(f"Identity provider token has no `{s.oidc_username_claim}` claim")
        return username

    def export_config(self) -> dict[str, Any]:
        return {"issuer": self.settings.oidc_issuer, "audience": self.settings.oidc_audience}


#: other names a plugin answers to when it is enabled: the same plugin object
ALIASES = {"keycloak": "oidc"}


def enabled_plugins(settings: Settings) -> dict[str, LoginPlugin]:
    """The plugins named in ``ISPYB_AUTH_PLUGINS``, in that order, then their aliases."""
    factories: dict[str, Callable[[], LoginPlugin]] = {"dummy": DummyPlugin, "oidc": lambda: OidcPlugin(settings)}
    plugins = {name: factories[name]() for name in settings.auth_plugins}
    return plugins | {alias: plugins[name] for alias, name in ALIASES.items() if name in plugins}
