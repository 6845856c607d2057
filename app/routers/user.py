"""The current user."""

from app.auth import signed
from app.deps import IdentityDep, ReadSessionDep, StateDep
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from relational import people
from schemas.auth import CurrentUser
from schemas.errors import InvalidInput, Unauthorized
from schemas.signed import OneTimeToken, SignRequest

router = Router(prefix="/user", tags=["Current User"], responses=responses(*AUTHENTICATED))


@router.get("/current", response_model=CurrentUser)
async def current_user(identity: IdentityDep, state: StateDep, db: ReadSessionDep) -> CurrentUser:
    """Who the token belongs to, their permissions and beamline groups."""
    person = await people.names(db, identity.personId)
    if person is None:
        raise Unauthorized("The token's person no longer exists")
    groups = [g for g in state.settings.beamline_groups if g.permission in identity.permissions]
    return CurrentUser(
        personId=person["personId"],
        login=identity.login,
        givenName=person["givenName"],
        familyName=person["familyName"],
        Permissions=identity.permissions,
        beamLineGroups=[g.groupName for g in groups],
        beamLines=sorted({b.beamLineName for g in groups for b in g.beamLines}),
    )


@router.post("/sign", response_model=OneTimeToken, responses=responses(InvalidInput))
async def sign_url(body: SignRequest, identity: IdentityDep, state: StateDep) -> OneTimeToken:
    """A one-time token for a download URL: good once, for that path and query, for ISPYB_SIGN_SECONDS."""
    s = state.settings
    return OneTimeToken(
        validity=body.validity, token=signed.sign(s.jwt_secret, s.sign_seconds, identity, body.validity)
    )
