"""A beamline's setup as its control software reports it (MXCuBE's beamline config → BeamLineSetup)."""

from fastapi import Response, status

from app.deps import AcquirerDep, WriteSessionDep
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.routing import Router
from relational import beamline_setups
from schemas.acquisition import BeamlineConfig
from schemas.errors import Conflict, Forbidden, InvalidInput

router = Router(prefix="/beamline-setups", tags=["Acquisition"], responses=responses(*AUTHENTICATED))


@router.post(
    "/beamline-setup",
    response_model=str,
    status_code=status.HTTP_201_CREATED,
    responses=responses(Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE),
)
async def store_beamline_setup(
    body: BeamlineConfig, caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response
) -> object:
    """Store the setup, reusing the row ``beamlineSetupId`` names when nothing changed; its id as a JSON string
    (MXCuBE's client takes the whole answer as the id and fails on a JSON number). Staff, holders of the
    acquisition permission, and members where the facility lets them acquire."""
    report_ignored(response, body, "beamline-setup")
    await beamline_setups.may_describe_beamlines(db, caller.identity.scope, caller.rule)

    async def work() -> str:
        return str(await beamline_setups.store_beamline_setup(db, body))

    return await once(work)
