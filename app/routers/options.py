"""Options: the UI's (message of the day, beamline groups) and py-ispyb's administration of them."""

from typing import Any

from fastapi import Depends

from app.deps import IdentityDep, ReadSessionDep, StateDep, WriteSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.admin import holding
from app.routers.routing import Router
from app.settings import Settings
from relational import options
from relational.read_sessions import ReadSession
from schemas.errors import Forbidden, InvalidInput
from schemas.options import Options, OptionsUpdate, UIOptions

router = Router(prefix="/options", tags=["Options"], responses=responses(*AUTHENTICATED))
MANAGE = [Depends(holding("manage_options"))]


async def _current(db: ReadSession, settings: Settings) -> dict[str, Any]:
    """The stored message of the day (over ISPYB_MOTD), and the configured beamline groups."""
    motd = (await options.stored(db, "motd")).get("motd")
    return {
        "motd": motd if isinstance(motd, str) else settings.motd,
        "beamLineGroups": settings.beamline_groups,
    }


@router.get("/ui", response_model=UIOptions)
async def ui_options(state: StateDep, db: ReadSessionDep, _: IdentityDep) -> dict[str, Any]:
    """Message of the day and beamline groups."""
    return await _current(db, state.settings)


@router.get("", response_model=Options, dependencies=MANAGE, responses=responses(Forbidden))
async def get_options(state: StateDep, db: ReadSessionDep) -> dict[str, Any]:
    """Every option (permission `manage_options`)."""
    return await _current(db, state.settings)


@router.patch("", response_model=Options, dependencies=MANAGE, responses=responses(Forbidden, InvalidInput))
async def update_options(body: OptionsUpdate, state: StateDep, db: WriteSessionDep) -> dict[str, Any]:
    """Store the options given (permission `manage_options`); every worker reads them on each request."""
    given = body.model_dump(exclude_unset=True)
    if "beamLineGroups" in given:
        if body.beamLineGroups != state.settings.beamline_groups:
            raise InvalidInput(
                "`beamLineGroups` come from the ISPYB_BEAMLINE_GROUPS setting and cannot be changed here"
            )
    if "motd" in given:
        await options.store(db, "motd", given["motd"])
    return await _current(db, state.settings)
