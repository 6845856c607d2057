"""Beamtime sessions."""

from datetime import date
from typing import Annotated

from fastapi import Query, Response, status

from app.deps import (
    MAX_LIMIT,
    AcquirerDep,
    DocumentsDep,
    IdentityDep,
    PageDep,
    ReadSessionDep,
    SchemaDep,
    StateDep,
    WriteSessionDep,
)
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import MAX_ID, Id, ProposalFilter
from app.routers.routing import Router
from app.routers.valid import SessionDep
from app.services import sessions as service
from app.services import timeline
from relational import acquisition, beamline_setups, sessions
from relational.common import Page
from relational.reach import proposal_for_acquisition, session_for_acquisition
from relational.scope import Scope
from schemas.acquisition import SessionCreate, SessionSetup
from schemas.common import Paged
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound
from schemas.results import SessionSummary
from schemas.sessions import Session
from schemas.timeline import Kind, Order, Timeline

router = Router(prefix="/sessions", tags=["Sessions"], responses=responses(*AUTHENTICATED))
#: what an acquisition write may answer: out of reach, not allowed, refused, a retry in flight, the key store down
ACQUISITION_WRITE = responses(NotFound, Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE)


@router.get("", response_model=Paged[Session], responses=responses(InvalidInput))
async def get_sessions(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    state: StateDep,
    page: PageDep,
    proposal: ProposalFilter = None,
    beamLineName: Annotated[str | None, Query(max_length=45)] = None,
    beamLineGroup: Annotated[str | None, Query(max_length=100)] = None,
    scheduled: bool | None = None,
    upcoming: bool = False,
    previous: bool = False,
    sessionType: Annotated[str | None, Query(max_length=31)] = None,
    year: Annotated[int | None, Query(ge=1900, le=9999)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    day: Annotated[int | None, Query(ge=1, le=31, description="With year and month: sessions running that day")] = None,
) -> dict[str, object]:
    """Sessions the caller may see, latest first (soonest first with ``upcoming``)."""
    on_day = _day(year, month, day)
    beamlines: list[str] | None = None
    if beamLineName:
        beamlines = [beamLineName]
    if beamLineGroup:
        in_group = _group_beamlines(state, beamLineGroup)
        beamlines = in_group if beamlines is None else [b for b in beamlines if b in in_group]
    total, rows = await sessions.get_sessions(
        db,
        identity.scope,
        schema,
        page,
        proposal=proposal,
        beamLineNames=beamlines,
        scheduled=scheduled,
        upcoming=upcoming,
        previous=previous,
        sessionType=sessionType,
        year=year,
        month=month,
        day=on_day,
        groups=state.settings.beamline_groups,
        counts=state.session_counts,
    )
    return listed(rows, total, page)


def _day(year: int | None, month: int | None, day: int | None) -> date | None:
    if day is None:
        return None
    if year is None or month is None:
        raise InvalidInput("`day` needs `year` and `month`")
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(f"`day`: {year}-{month:02}-{day:02} is not a date") from None


def _group_beamlines(state: StateDep, name: str) -> list[str]:
    return [b.beamLineName for g in state.settings.beamline_groups if g.groupName == name for b in g.beamLines]


@router.get("/group", response_model=Paged[Session])
async def get_sessions_for_group(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    state: StateDep,
    beamLineGroup: Annotated[str | None, Query(max_length=100)] = None,
    upcoming: bool = False,
    previous: bool = False,
    sessionType: Annotated[str | None, Query(max_length=31)] = None,
) -> dict[str, object]:
    """One session per beamline of a beamline group (the next or the last, as asked)."""
    results = []
    for beamline in _group_beamlines(state, beamLineGroup) if beamLineGroup else []:
        _, rows = await sessions.get_sessions(
            db,
            identity.scope,
            schema,
            Page(0, 1),
            beamLineNames=[beamline],
            upcoming=upcoming,
            previous=previous,
            sessionType=sessionType,
            groups=state.settings.beamline_groups,
            counts=state.session_counts,
        )
        results.extend(rows)
    return listed(results)


@router.get("/{sessionId}", response_model=Session, responses=responses(NotFound))
async def get_session(session: SessionDep) -> dict[str, object]:
    """One session."""
    return session


@router.get("/{sessionId}/summary", response_model=SessionSummary, responses=responses(NotFound))
async def get_session_summary(
    sessionId: Id, identity: IdentityDep, db: ReadSessionDep, documents: DocumentsDep
) -> dict[str, object]:
    """Per data collection: what was collected, how SQL auto-processing went, which results and metrics exist."""
    summary = await service.session_summary(db, documents, identity, sessionId)
    if summary is None:
        raise NotFound(f"Session {sessionId} not found")
    return summary


@router.get("/{sessionId}/timeline", response_model=Timeline, responses=responses(NotFound, InvalidInput))
async def get_session_timeline(
    sessionId: Id,
    identity: IdentityDep,
    db: ReadSessionDep,
    documents: DocumentsDep,
    schema: SchemaDep,
    state: StateDep,
    kinds: Annotated[list[Kind] | None, Query(description="Only these kinds (repeated); all if absent")] = None,
    order: Order = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
    cursor: Annotated[str | None, Query(min_length=1, max_length=500, description="The previous page's `next`")] = None,
) -> dict[str, object]:
    """The session's data collections, robot actions, energy scans, XRF spectra, logbook entries and results in
    time order (newest first unless ``order=asc``), a page at a time; times in UTC. With the document store down,
    the SQL events alone, and ``documents.available`` false."""
    return await timeline.session_timeline(
        db,
        documents,
        identity,
        schema,
        state.settings.jwt_secret,
        sessionId,
        kinds=set(kinds or Kind),
        order=order,
        limit=limit,
        cursor=cursor,
    )


async def _created_session(db: WriteSessionDep, schema: SchemaDep, state: StateDep, session_id: int) -> object:
    """A session as ``GET /sessions/{id}`` shows it, to the caller who just created it (whose read scope, e.g. a
    holder of the acquisition permission only, may not include it)."""
    _, rows = await sessions.get_sessions(
        db,
        Scope(person_id=0, all_proposals=True),
        schema,
        Page(0, 1),
        sessionId=session_id,
        groups=state.settings.beamline_groups,
        counts=state.session_counts,
    )
    return rows[0]


@router.post("", response_model=Session, status_code=status.HTTP_201_CREATED, responses=ACQUISITION_WRITE)
async def create_session(
    body: SessionCreate,
    caller: AcquirerDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    state: StateDep,
    once: OnceDep,
    response: Response,
) -> object:
    """A session of a proposal on a beamline (MXCuBE opens one for today when none runs), with the proposal's next
    visit number; times are local (a trailing ``Z`` is MXCuBE's local wall time and kept as is). Who may: staff of
    the beamline, holders of the acquisition permission, and members where the facility lets them acquire."""
    report_ignored(response, body, "sessions")
    await proposal_for_acquisition(db, caller.identity.scope, caller.rule, body.proposalId, body.beamLineName)

    async def work() -> object:
        return await _created_session(db, schema, state, await acquisition.create_session(db, body))

    return await once(work)


@router.patch("/{sessionId}/associate-beamline-setup", response_model=SessionSetup, responses=ACQUISITION_WRITE)
async def associate_beamline_setup(
    sessionId: Id,
    beamLineSetupId: Annotated[int, Query(ge=1, le=MAX_ID)],
    caller: AcquirerDep,
    db: WriteSessionDep,
    once: OnceDep,
) -> object:
    """Link the session to a stored beamline setup."""
    await session_for_acquisition(db, caller.identity.scope, caller.rule, sessionId)

    async def work() -> dict[str, int]:
        await beamline_setups.associate_setup(db, sessionId, beamLineSetupId)
        return {"sessionId": sessionId, "beamLineSetupId": beamLineSetupId}

    return await once(work)
