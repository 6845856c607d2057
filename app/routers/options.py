"""Options the UI reads."""

from fastapi import APIRouter

from app.deps import IdentityDep, StateDep
from app.problems import AUTHENTICATED, responses
from schemas.options import UIOptions

router = APIRouter(prefix="/options", tags=["Options"], responses=responses(*AUTHENTICATED))


@router.get("/ui", response_model=UIOptions)
async def ui_options(state: StateDep, _: IdentityDep) -> UIOptions:
    """Message of the day and beamline groups."""
    return UIOptions(motd=state.settings.motd, beamLineGroups=state.settings.beamline_groups)
