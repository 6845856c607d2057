"""The session timeline, and what beamline software writes into it: robot actions, energy scans, XRF spectra and
faults (MXCuBE's PyISPyB adapter and GDA)."""

from enum import StrEnum
from typing import Annotated

from fastapi import Query, Response, status

from app.deps import AcquirerDep, IdentityDep, PageDep, ReadSessionDep, SchemaDep, StateDep, WriteSessionDep
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import IdFilter, ProposalFilter
from app.routers.routing import Router
from app.services.snapshots import mark_snapshots
from relational import event_writes, events
from relational.reach import session_for_acquisition
from schemas.common import Paged
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound
from schemas.event_writes import (
    EnergyScanCreate,
    EnergyScanSample,
    EnergyScanSampleLink,
    FaultCreate,
    RobotActionCreate,
    XrfSpectrumCreate,
)
from schemas.events import Event, EventType

router = Router(prefix="/events", tags=["Events"], responses=responses(*AUTHENTICATED))
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
    state: StateDep,
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
    """Data collection groups (or one group's collections), robot actions (`robot`), energy scans (`es`), XRF spectra
    (`xrf`) and faults (`fault`), newest first. `eventType` is one of those kinds or an experiment type."""
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
    await mark_snapshots(state, (row["Item"] for row in rows if row["type"] == events.DC))
    return listed(rows, total, page)


@router.get("/types", response_model=Paged[EventType])
async def get_event_types(
    identity: IdentityDep,
    db: ReadSessionDep,
    session: Annotated[str | None, Query(pattern=SESSION_PATTERN, max_length=60)] = None,
    sessionId: IdFilter = None,
    blSampleId: IdFilter = None,
) -> dict[str, object]:
    """The kinds of event present: experiment types, then robot actions, XRF spectra, energy scans, faults."""
    filters = events.EventFilters(session=session, sessionId=sessionId, blSampleId=blSampleId)
    types = await events.get_event_types(db, identity.scope, filters)
    return listed(types)


#: what a write into a session may answer besides the router's errors (409 and the document store's: a retry with
#: an Idempotency-Key)
WRITE_ERRORS = responses(NotFound, Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE)
ID_ANSWER = "The new row's id as a JSON string (MXCuBE's client cannot take a bare JSON number)"


@router.post(
    "/robot-action",
    response_model=str,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    response_description=ID_ANSWER,
)
async def create_robot_action(
    caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response, body: RobotActionCreate
) -> str | Response:
    """A robot action (sample mounted, unmounted…) in a session. `actionType` and `status` take the values of this
    database's ENUMs (a 422 lists them); `blSampleId` null or -1: no sample."""
    report_ignored(response, body, "POST /events/robot-action")

    async def write() -> str:
        target = await session_for_acquisition(db, caller.identity.scope, caller.rule, body.sessionId)
        return str(await event_writes.add_robot_action(db, target, body))

    return await once(write)


@router.post(
    "/energyscan",
    response_model=str,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    response_description=ID_ANSWER,
)
async def create_energy_scan(
    caller: AcquirerDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    once: OnceDep,
    response: Response,
    body: EnergyScanCreate,
) -> str | Response:
    """An energy scan in a session. `remoteEnergy`, `remoteFPrime` and `remoteFDoublePrime` are kept where the
    database has those columns, and otherwise listed among the ignored keys."""

    async def write() -> str:
        target = await session_for_acquisition(db, caller.identity.scope, caller.rule, body.sessionId)
        scan_id, unstored = await event_writes.add_energy_scan(db, schema, target, body)
        body.unstored(unstored)
        report_ignored(response, body, "POST /events/energyscan")
        return str(scan_id)

    return await once(write)


@router.patch("/energyscan/associate-bl-sample", response_model=EnergyScanSampleLink, responses=WRITE_ERRORS)
async def associate_energy_scan(
    caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response, body: EnergyScanSample
) -> EnergyScanSampleLink | Response:
    """Record the sample an energy scan was taken on (once; a repeat changes nothing); it becomes the scan's own
    sample if it had none."""
    report_ignored(response, body, "PATCH /events/energyscan/associate-bl-sample")

    async def write() -> EnergyScanSampleLink:
        scope, rule = caller.identity.scope, caller.rule
        await event_writes.link_energy_scan(db, scope, rule, body.energyScanId, body.blSampleId)
        return EnergyScanSampleLink(energyScanId=body.energyScanId, blSampleId=body.blSampleId)

    return await once(write)


@router.post(
    "/xfe-fluorescence-spectrum",
    response_model=str,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    response_description=ID_ANSWER,
)
async def create_xrf_spectrum(
    caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response, body: XrfSpectrumCreate
) -> str | Response:
    """An X-ray fluorescence spectrum in a session."""
    report_ignored(response, body, "POST /events/xfe-fluorescence-spectrum")

    async def write() -> str:
        target = await session_for_acquisition(db, caller.identity.scope, caller.rule, body.sessionId)
        return str(await event_writes.add_xrf_spectrum(db, target, body))

    return await once(write)


@router.post(
    "/fault",
    response_model=str,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_ERRORS,
    response_description="The new fault's id as a JSON string, like the other event writes",
)
async def create_fault(
    caller: AcquirerDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    once: OnceDep,
    response: Response,
    body: FaultCreate,
) -> str | Response:
    """A beamline fault reported in a session (BF_fault), by the caller; `starttime` not given: now."""
    report_ignored(response, body, "POST /events/fault")

    async def write() -> str:
        target = await session_for_acquisition(db, caller.identity.scope, caller.rule, body.sessionId)
        return str(await event_writes.add_fault(db, schema, target, body, caller.identity.personId))

    return await once(write)
