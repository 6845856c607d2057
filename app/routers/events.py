"""The data-collection timeline."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import IdFilter, ProposalFilter
from relational import events
from schemas.common import Paged
from schemas.events import Event, EventType

router = APIRouter(prefix="/events", tags=["Events"], responses=responses(*AUTHENTICATED))
SESSION_PATTERN = r"^[\w-]+\d+-\d+$"


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
    sessionId: IdFilter = None,
    proposal: ProposalFilter = None,
    proposalId: IdFilter = None,
    beamLineName: Annotated[str | None, Query(max_length=45)] = None,
    dataCollectionId: IdFilter = None,
    dataCollectionGroupId: IdFilter = None,
    blSampleId: IdFilter = None,
    proteinId: IdFilter = None,
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
    return listed(rows, total, page)


@router.get("/types", response_model=Paged[EventType])
async def get_event_types(
    identity: IdentityDep,
    db: ReadSessionDep,
    session: Annotated[str | None, Query(pattern=SESSION_PATTERN, max_length=60)] = None,
    sessionId: IdFilter = None,
    blSampleId: IdFilter = None,
) -> dict[str, object]:
    """The kinds of event present (experiment types, and robot actions)."""
    filters = events.EventFilters(session=session, sessionId=sessionId, blSampleId=blSampleId)
    types = await events.get_event_types(db, identity.scope, filters)
    return listed(types)
