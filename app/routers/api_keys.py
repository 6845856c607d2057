"""API keys: named service identities for pipelines and beamline software, managed by staff holding
ISPYB_API_KEY_PERMISSION (with a login's token: a key cannot manage keys)."""

from typing import Annotated

from fastapi import Depends, Path, status

from app.auth import api_keys
from app.deps import IdentityDep, ReadSessionDep, StateDep
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from documents.store import StoreUnavailable
from schemas.auth import ApiKey, ApiKeyCreate, ApiKeyCreated, Creator
from schemas.errors import Forbidden, InvalidInput, NotFound

router = Router(
    prefix="/api-keys", tags=["Authentication"], responses=responses(*AUTHENTICATED, StoreUnavailable, Forbidden)
)

KeyId = Annotated[str, Path(pattern=api_keys.KEY_ID_PATTERN, description="16 hexadecimal characters")]


async def manager(identity: IdentityDep, state: StateDep) -> Creator:
    """The caller, if they may manage API keys; 403 otherwise."""
    permission = state.settings.api_key_permission
    if identity.apiKeyId is not None:
        raise Forbidden("API keys are managed with a login's token, not with an API key")
    if permission not in identity.permissions:
        raise Forbidden(f"Managing API keys needs the `{permission}` permission")
    return Creator(personId=identity.personId, login=identity.login)


ManagerDep = Annotated[Creator, Depends(manager)]


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED, responses=responses(InvalidInput))
async def create_api_key(
    data: ApiKeyCreate, creator: ManagerDep, identity: IdentityDep, state: StateDep, db: ReadSessionDep
) -> ApiKeyCreated:
    """A new key acting as the person ``login`` with ``permissions`` (each held by that person, and by the caller,
    who reaching every proposal may also grant a beamline group's); ``key`` is its secret, shown this once."""
    granting = api_keys.grantable(state.settings, identity.permissions)
    return await api_keys.create(state.documents, db, state.settings.api_key_max_days, creator, data, granting)


@router.get("", response_model=list[ApiKey])
async def get_api_keys(creator: ManagerDep, state: StateDep) -> list[ApiKey]:
    """Every key, newest first, revoked and expired ones too; never a secret."""
    return await api_keys.listing(state.documents)


@router.delete("/{keyId}", response_model=ApiKey, responses=responses(NotFound))
async def revoke_api_key(keyId: KeyId, creator: ManagerDep, state: StateDep) -> ApiKey:
    """Revoke a key: refused at once by this process, by every process within ISPYB_PERMISSION_CACHE_SECONDS."""
    return await api_keys.revoke(state.documents, state.api_keys, keyId)
