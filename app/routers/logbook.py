"""The beamline logbook: notes, faults, robot and beam events, processing notices, alarms, kept as versions."""

from typing import Annotated, Any

from fastapi import Path, Query, status

from app.deps import MAX_LIMIT, DocumentsDep, IdentityDep, ReadSessionDep, StateDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.params import IdFilter, ProposalFilter
from app.routers.routing import Router
from app.services import logbook as service
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from schemas.logbook import (
    BUILTIN_KINDS,
    MAX_TAG_CHARS,
    OBJECT_ID_PATTERN,
    Entry,
    EntryCorrection,
    EntryCreate,
    EntryFilters,
    EntryHistory,
    EntryPage,
    KindInfo,
)
from schemas.times import UtcDatetime

router = Router(prefix="/logbook", tags=["Logbook"], responses=responses(*AUTHENTICATED, *DOCUMENT_STORE))
EntryId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="24 hexadecimal characters")]
WRITE_ERRORS = (NotFound, Forbidden, PayloadTooLarge, InvalidInput)


@router.post("", response_model=Entry, status_code=status.HTTP_201_CREATED, responses=responses(*WRITE_ERRORS))
async def create_entry(
    data: EntryCreate, identity: IdentityDep, db: ReadSessionDep, state: StateDep, documents: DocumentsDep
) -> dict[str, Any]:
    """Add an entry to a session (`sessionId`: its beamline and proposal are the session's) or, without one, to a
    beamline (`beamLineName`). Members of a session add notes; other kinds and beamline-wide entries need staff of
    the beamline, all_proposals, or the acquisition or processing-write permission. `text` over the
    ISPYB_LOGBOOK_MAX_BYTES limit (UTF-8 bytes) answers 413."""
    return await service.create(db, documents, identity, state.settings, data)


@router.get("", response_model=EntryPage, responses=responses(NotFound, InvalidInput))
async def get_entries(
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    beamLineName: Annotated[str | None, Query(min_length=1, max_length=45)] = None,
    sessionId: IdFilter = None,
    proposal: ProposalFilter = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=MAX_TAG_CHARS)] = None,
    since: Annotated[UtcDatetime | None, Query(alias="from", description="entries at or after (naive: UTC)")] = None,
    until: Annotated[UtcDatetime | None, Query(alias="to", description="entries at or before (naive: UTC)")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="text holding this, any case")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
) -> dict[str, Any]:
    """The latest version of each entry the caller sees, newest first, a page at a time: pass the page's `next`
    as `cursor` for the following one (null: the last page)."""
    f = EntryFilters(beamLineName, sessionId, None, kind, tag, since, until, q)
    return await service.find(db, documents, identity, state.settings, f, proposal, cursor, limit)


@router.get("/kinds", response_model=list[KindInfo])
async def get_kinds(identity: IdentityDep, state: StateDep) -> list[dict[str, Any]]:
    """The kinds an entry may have: the built-in ones, then the facility's (ISPYB_LOGBOOK_KINDS)."""
    return [{"kind": k, "builtIn": k in BUILTIN_KINDS} for k in service.kinds(state.settings)]


@router.get("/{entryId}", response_model=EntryHistory, responses=responses(NotFound))
async def get_entry(
    entryId: EntryId, identity: IdentityDep, db: ReadSessionDep, documents: DocumentsDep
) -> dict[str, Any]:
    """An entry's latest version, with every version (oldest first)."""
    return await service.history(db, documents, identity, entryId)


@router.patch("/{entryId}", response_model=Entry, responses=responses(Conflict, *WRITE_ERRORS))
async def correct_entry(
    entryId: EntryId,
    data: EntryCorrection,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
) -> dict[str, Any]:
    """Correct an entry: the fields given replace the latest version's in a new version (the earlier ones stay).
    Its author or staff of its beamline may; a concurrent correction becomes the version after."""
    return await service.correct(db, documents, identity, state.settings, entryId, data)
