"""Login (py-ispyb compatible, plus MXCuBE's refresh tokens), refresh, and the plugin list clients read."""

from fastapi import status

from app.auth import refresh, tokens
from app.deps import ReadSessionDep, StateDep, standing_of
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from documents.store import StoreUnavailable
from relational import people
from schemas.auth import AuthConfig, Login, PluginConfig, Refresh, TokenResponse
from schemas.errors import InvalidInput, Unauthorized

router = Router(prefix="/auth", tags=["Authentication"])


@router.get("/config", response_model=AuthConfig)
async def auth_config(state: StateDep) -> AuthConfig:
    """The enabled login plugins (and the names they also answer to) and what a client needs to use them."""
    return AuthConfig(plugins=[PluginConfig(name=n, config=p.export_config()) for n, p in state.plugins.items()])


@router.post(
    "/login",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(*AUTHENTICATED, InvalidInput),
)
async def login(body: Login, state: StateDep, db: ReadSessionDep) -> TokenResponse:
    """Log in with a plugin (``keycloak`` is ``oidc``: the user comes from the token, never from ``login``);
    answers our own bearer token, and a refresh token unless the document store is down (``refreshToken`` null)."""
    if not state.plugins:
        raise Unauthorized("No login plugin is enabled on this service (ISPYB_AUTH_PLUGINS)")
    name = body.plugin or next(iter(state.plugins))
    plugin = state.plugins.get(name)
    if plugin is None:
        raise InvalidInput(f"Unknown plugin `{name}`; enabled: {', '.join(state.plugins)}")
    login_name = await plugin.authenticate(body.login, body.password, body.token)
    person = await people.person_by_login(db, login_name)
    found = None if person is None else await standing_of(state, db, person.personId, fresh=True)
    if person is None or found is None or found.login is None:
        raise Unauthorized(f"User `{login_name}` does not exist in the database")
    s = state.settings
    return TokenResponse(
        login=found.login,
        personId=person.personId,
        token=tokens.issue(s.jwt_secret, found.login, person.personId, s.jwt_lifetime_minutes),
        permissions=found.permissions,
        refreshToken=await refresh.start(state, found.login, person.personId),
        expiresIn=s.jwt_lifetime_minutes * 60,
    )


@router.post("/refresh", response_model=TokenResponse, responses=responses(*AUTHENTICATED, StoreUnavailable))
async def refresh_token(body: Refresh, state: StateDep, db: ReadSessionDep) -> TokenResponse:
    """A new access token and the next refresh token for a refresh token, which is then used up (a repeat within
    a few seconds gets the same answer; later, it revokes every token of that login). Needs no bearer header: a
    stale one is ignored."""
    renewed = await refresh.rotate(state, db, body.refreshToken)
    s = state.settings
    return TokenResponse(
        login=renewed.login,
        personId=renewed.personId,
        token=tokens.issue(s.jwt_secret, renewed.login, renewed.personId, s.jwt_lifetime_minutes),
        permissions=renewed.permissions,
        refreshToken=renewed.refreshToken,
        expiresIn=s.jwt_lifetime_minutes * 60,
    )
