"""Login (py-ispyb compatible) and the plugin list clients read."""

from fastapi import APIRouter, status

from app.auth import tokens
from app.deps import ReadSessionDep, StateDep, standing_of
from app.problems import AUTHENTICATED, responses
from relational import people
from schemas.auth import AuthConfig, Login, PluginConfig, TokenResponse
from schemas.errors import InvalidInput, Unauthorized

router = APIRouter(prefix="/auth", tags=["Authentication"])


@router.get("/config", response_model=AuthConfig)
async def auth_config(state: StateDep) -> AuthConfig:
    """The enabled login plugins and what a client needs to use them."""
    return AuthConfig(plugins=[PluginConfig(name=n, config=p.export_config()) for n, p in state.plugins.items()])


@router.post(
    "/login",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(*AUTHENTICATED, InvalidInput),
)
async def login(body: Login, state: StateDep, db: ReadSessionDep) -> TokenResponse:
    """Log in with a plugin; answers our own bearer token."""
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
    token = tokens.issue(s.jwt_secret, found.login, person.personId, s.jwt_lifetime_minutes)
    return TokenResponse(login=found.login, personId=person.personId, token=token, permissions=found.permissions)
