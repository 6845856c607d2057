"""Detectors, found by what beamline software knows of them."""

from typing import Annotated

from fastapi import Query

from app.deps import IdentityDep, ReadSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from relational import beamline_setups
from schemas.acquisition import Detector
from schemas.errors import NotFound

router = Router(prefix="/detectors", tags=["Acquisition"], responses=responses(*AUTHENTICATED))
Criterion = Annotated[str | None, Query(max_length=255)]


@router.get("", response_model=Detector, responses=responses(NotFound))
async def find_detector(
    identity: IdentityDep,
    db: ReadSessionDep,
    manufacturer: Criterion = None,
    model: Criterion = None,
    mode: Criterion = None,
    type: Criterion = None,
) -> dict[str, object]:
    """The first detector matching every criterion given, case-insensitively (an empty one matches any): one
    object, as MXCuBE's adapter reads it; 404 when none matches."""
    found = await beamline_setups.find_detector(db, manufacturer, model, mode, type)
    if found is None:
        raise NotFound("No detector matches")
    return found
