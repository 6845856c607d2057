"""Session statistics."""

from typing import Annotated

from fastapi import Query

from app.deps import IdentityDep, ReadSessionDep, SchemaDep, StateDep
from app.problems import AUTHENTICATED, responses
from app.routers.params import MAX_ID
from app.routers.routing import Router
from app.services.stats import errors
from relational import stats
from schemas.errors import InvalidInput, NotFound
from schemas.stats import Breakdown, Errors, Hourlies, StatsFilter, TimeEntry, Times

router = Router(prefix="/stats", tags=["Stats"], responses=responses(*AUTHENTICATED))
SessionId = Annotated[int, Query(ge=1, le=MAX_ID)]
Covered = Annotated[StatsFilter, Query()]
COVERED_ERRORS = responses(NotFound, InvalidInput)


@router.get("/breakdown", response_model=Breakdown, responses=responses(NotFound))
async def get_breakdown(identity: IdentityDep, db: ReadSessionDep, sessionId: SessionId) -> dict[str, object]:
    """A session's timeline and beam parameters over time."""
    breakdown = await stats.get_breakdown(db, identity.scope, sessionId)
    if breakdown is None:
        raise NotFound(f"Session {sessionId} not found")
    return breakdown


@router.get("/times", response_model=Times, responses=responses(NotFound))
async def get_times(identity: IdentityDep, db: ReadSessionDep, sessionId: SessionId) -> dict[str, object]:
    """How a session's time was used (hours), and the average over the sessions returned."""
    sessions = await stats.get_times(db, identity.scope, [sessionId])
    if not sessions:
        raise NotFound(f"Session {sessionId} not found")
    average = {k: sum(s.get(k, 0.0) for s in sessions) / len(sessions) for k in TimeEntry.model_fields}
    return {"average": average, "sessions": sessions}


@router.get("/hourlies", response_model=Hourlies, responses=COVERED_ERRORS)
async def get_hourlies(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, given: Covered
) -> dict[str, object]:
    """Data collections and sample loads per hour of the day, in the sessions you reach that the filters name."""
    return await stats.get_hourlies(db, identity.scope, schema, given)


@router.get("/errors", response_model=Errors, responses=COVERED_ERRORS)
async def get_errors(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, state: StateDep, given: Covered
) -> dict[str, object]:
    """Failed and aborted data collections per experiment type, in the sessions you reach that the filters name,
    with the last lines of their error logs (those in ISPYB_DATA_ROOTS), most frequent first."""
    return await errors(state, db, identity.scope, schema, given)
