"""The data-collection timeline."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep
from app.routers.proposals import PROPOSAL_PATTERN
from app.routers.sessions import MAX_ID
from relational import events
from schemas.common import Paged
from schemas.events import Event, EventType

router = APIRouter(prefix="/events", tags=["Events"])
SESSION_PATTERN = r"^[\w-]+\d+-\d+$"
Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class EventStatus(StrEnum):
    success = "success"
    failed = "failed"
    processed = "processed"
    processerror = "processerror"


@router.get("", response_model=Paged[Event])
async def get_events(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    page: PageDep,
    session: Annotated[str | None, Query(pattern=SESSION_PATTERN, max_length=60)] = None,
    sessionId: Id = None,
    proposal: Annotated[str | None, Query(pattern=PROPOSAL_PATTERN, max_length=60)] = None,
    proposalId: Id = None,
    beamLineName: Annotated[str | None, Query(max_length=45)] = None,
    dataCollectionId: Id = None,
    dataCollectionGroupId: Id = None,
    blSampleId: Id = None,
    proteinId: Id = None,
    status: EventStatus | None = None,
    eventType: Annotated[str | None, Query(max_length=50)] = None,
) -> dict[str, object]:
    """Data collection groups (or one group's collections) and robot actions, newest first."""
    filters = events.EventFilters(
        session=session,
        sessionId=sessionId,
        proposal=proposal,
        proposalId=proposalId,
        beamLineName=beamLineName,
        dataCollectionId=dataCollectionId,
        dataCollectionGroupId=dataCollectionGroupId,
        blSampleId=blSampleId,
        proteinId=proteinId,
        status=status.value if status else None,
        eventType=eventType,
    )
    total, rows = await events.get_events(db, identity.scope, schema, page, filters)
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


@router.get("/types", response_model=Paged[EventType])
async def get_event_types(
    identity: IdentityDep,
    db: ReadSessionDep,
    session: Annotated[str | None, Query(pattern=SESSION_PATTERN, max_length=60)] = None,
    sessionId: Id = None,
    blSampleId: Id = None,
) -> dict[str, object]:
    """The kinds of event present (experiment types, and robot actions)."""
    filters = events.EventFilters(session=session, sessionId=sessionId, blSampleId=blSampleId)
    types = await events.get_event_types(db, identity.scope, filters)
    return {"total": len(types), "results": types, "skip": 0, "limit": len(types)}
