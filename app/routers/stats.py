"""Session statistics."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import IdentityDep, ReadSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.params import MAX_ID
from relational import stats
from schemas.errors import NotFound
from schemas.stats import Breakdown, TimeEntry, Times

router = APIRouter(prefix="/stats", tags=["Stats"], responses=responses(*AUTHENTICATED))
SessionId = Annotated[int, Query(ge=1, le=MAX_ID)]


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
