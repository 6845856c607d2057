"""Auto-processing results and statuses."""

import json
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from app.auth.signed import FILE_ERRORS, FileCallerDep
from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep, StateDep
from app.files import download_path, file_response
from app.json_guard import too_deep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import MAX_ID, Id, IdFilter
from app.routers.routing import Router
from relational import attachments, processing_statuses, processings, programs, screenings
from schemas.attachments import AutoProcProgramAttachment
from schemas.common import Paged
from schemas.errors import InvalidInput, NotFound
from schemas.processings import (
    AutoProcProgram,
    AutoProcProgramIntegration,
    AutoProcProgramMessage,
    MessageStatuses,
    ProcessingStatusesList,
    Screening,
)

router = Router(prefix="/processings", tags=["Processings"], responses=responses(*AUTHENTICATED))
MAX_IDS = 1000
#: the answer's OpenAPI: a file, not JSON
FILE: dict[int | str, dict[str, Any]] = {200: {"description": "The file", "content": {"application/octet-stream": {}}}}


async def dataCollectionIds(
    dataCollectionIds: Annotated[str, Query(description="JSON list of data collection ids, e.g. [1,2]")],
) -> list[int]:
    """py-ispyb's JSON-encoded id list, validated."""
    try:
        if too_deep(dataCollectionIds.encode(), 1):  # a flat list: refuse nesting before the parser recurses
            raise ValueError
        ids = json.loads(dataCollectionIds)
    except ValueError:
        raise InvalidInput("dataCollectionIds must be a JSON list of integers, e.g. [1,2]") from None
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in ids)
    ):
        raise InvalidInput("dataCollectionIds must be a non-empty JSON list of positive integers")
    if len(ids) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} dataCollectionIds per request")
    return ids


Ids = Annotated[list[int], Depends(dataCollectionIds)]


@router.get("", response_model=Paged[AutoProcProgram])
async def get_processings(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, page: PageDep, dataCollectionId: IdFilter = None
) -> dict[str, object]:
    """Processing programs run on a collection that integrated nothing (official flavour's link)."""
    total, rows = await processings.get_processings(db, identity.scope, schema, page, dataCollectionId)
    return listed(rows, total, page)


@router.get("/auto-integrations", response_model=Paged[AutoProcProgramIntegration])
async def get_auto_integrations(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, page: PageDep, dataCollectionId: IdFilter = None
) -> dict[str, object]:
    """Auto-integration programs with integration, scaling and statistics per shell."""
    total, rows = await processings.get_auto_integrations(db, identity.scope, schema, page, dataCollectionId)
    return listed(rows, total, page)


@router.get("/status", response_model=ProcessingStatusesList, responses=responses(InvalidInput))
async def get_statuses(identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, ids: Ids) -> dict[str, object]:
    """Processing status per visible collection: all five kinds, null where there is none (screening,
    auto-integration and, on Diamond's schema, the programs of automatic processing jobs)."""
    return {"statuses": await processing_statuses.get_statuses(db, identity.scope, schema, ids)}


@router.get("/messages/status", response_model=MessageStatuses, responses=responses(InvalidInput))
async def get_message_statuses(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, ids: Ids
) -> dict[str, object]:
    """Counts of program messages by severity per visible collection that has any."""
    return {"statuses": await processing_statuses.get_message_statuses(db, identity.scope, schema, ids)}


@router.get("/messages", response_model=Paged[AutoProcProgramMessage])
async def get_processing_messages(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    page: PageDep,
    autoProcProgramId: IdFilter = None,
    dataCollectionId: IdFilter = None,
    autoProcProgramMessageId: IdFilter = None,
) -> dict[str, object]:
    """Messages of the visible processing programs (of one program, or of one collection's), oldest first; empty
    where the database has no message table (the official schema)."""
    total, rows = await programs.get_messages(
        db, identity.scope, schema, page, autoProcProgramId, dataCollectionId, autoProcProgramMessageId
    )
    return listed(rows, total, page)


@router.get("/screenings", response_model=Paged[Screening])
async def get_screenings(
    identity: IdentityDep, db: ReadSessionDep, page: PageDep, dataCollectionId: IdFilter = None
) -> dict[str, object]:
    """Screening results of the visible collections (of one collection, or its group), with outputs, lattices,
    strategies, wedges and sub-wedges."""
    total, rows = await screenings.get_screenings(db, identity.scope, page, dataCollectionId)
    return listed(rows, total, page)


@router.get("/attachments", response_model=Paged[AutoProcProgramAttachment])
async def get_processing_attachments(
    request: Request,
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    page: PageDep,
    autoProcProgramId: IdFilter = None,
    autoProcProgramAttachmentId: IdFilter = None,
) -> dict[str, object]:
    """Files attached to the visible processing programs (to one program), each with its download path
    (``_metadata.url``)."""
    total, rows = await attachments.get_program_attachments(
        db, identity.scope, schema, page, autoProcProgramId, autoProcProgramAttachmentId
    )
    for row in rows:
        url = download_path(request, "get_processing_attachments", row["autoProcProgramAttachmentId"])
        row["_metadata"] = {"url": url}
    return listed(rows, total, page)


@router.get(
    "/attachments/{autoProcProgramAttachmentId}",
    response_class=Response,
    responses={**responses(*FILE_ERRORS), **FILE},
)
async def get_processing_attachment(
    autoProcProgramAttachmentId: Id,
    request: Request,
    caller: FileCallerDep,
    state: StateDep,
    db: ReadSessionDep,
    schema: SchemaDep,
) -> Response:
    """A processing program's attached file, ``filePath``/``fileName`` (Bearer or a signed URL's ``?onetime=``)."""
    row = await attachments.get_program_attachment(db, caller.scope, schema, autoProcProgramAttachmentId)
    if row is None or not row["filePath"] or not row["fileName"]:
        raise NotFound(f"Processing attachment {autoProcProgramAttachmentId} not found")
    stored = str(PurePosixPath(row["filePath"], row["fileName"]))
    return await file_response(state, request, stored, filename=row["fileName"])
