"""Data collections."""

from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import Query, Request, Response, status

from app.auth.signed import FILE_ERRORS, FileCallerDep
from app.deps import (
    AcquirerDep,
    DocumentsDep,
    IdentityDep,
    PageDep,
    ReadSessionDep,
    SchemaDep,
    StateDep,
    WriteSessionDep,
    when_settled,
)
from app.files import available, download_path, file_response
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import Id, IdFilter
from app.routers.routing import Router
from app.routers.valid import DataCollectionDep
from app.services import datacollections as service
from app.services import exports
from app.services.snapshots import mark_snapshots
from documents.store import StoreTimeout
from relational import acquisition, attachments, datacollections, workflows
from schemas.acquisition import Collection, CollectionStored, Group
from schemas.attachments import DataCollectionFileAttachment
from schemas.best_result import BestResult
from schemas.common import Paged
from schemas.datacollections import DataCollectionUnified, PerImageAnalysis
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound
from schemas.workflows import WorkflowStep, WorkflowStepAttachment

router = Router(prefix="/datacollections", tags=["Data collections"], responses=responses(*AUTHENTICATED))
#: what an acquisition write may answer: out of reach, not allowed, refused, a retry in flight, the key store down
ACQUISITION_WRITE = responses(NotFound, Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE)
#: the answer's OpenAPI: a file, not JSON
FILE: dict[int | str, dict[str, Any]] = {200: {"description": "The file", "content": {"application/octet-stream": {}}}}


@router.get("/attachments", response_model=Paged[DataCollectionFileAttachment])
async def get_datacollection_attachments(
    request: Request,
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    dataCollectionId: IdFilter = None,
    dataCollectionGroupId: IdFilter = None,
) -> dict[str, object]:
    """Files attached to the visible collections (to one collection, or to one group's), each with its download
    path (``_metadata.url``) and file name."""
    total, rows = await attachments.get_collection_attachments(
        db, identity.scope, page, dataCollectionId, dataCollectionGroupId
    )
    for row in rows:
        name = PurePosixPath(row["fileFullPath"]).name
        url = download_path(request, "get_datacollection_attachments", row["dataCollectionFileAttachmentId"])
        row["_metadata"] = {"url": url, "fileName": name}
    return listed(rows, total, page)


@router.get(
    "/attachments/{dataCollectionFileAttachmentId}",
    response_class=Response,
    responses={**responses(*FILE_ERRORS), **FILE},
)
async def get_datacollection_attachment(
    dataCollectionFileAttachmentId: Id, request: Request, caller: FileCallerDep, state: StateDep, db: ReadSessionDep
) -> Response:
    """A collection's attached file (Bearer or a signed URL's ``?onetime=``)."""
    row = await attachments.get_collection_attachment(db, caller.scope, dataCollectionFileAttachmentId)
    if row is None:
        raise NotFound(f"Data collection attachment {dataCollectionFileAttachmentId} not found")
    stored = row["fileFullPath"]
    return await file_response(state, request, stored, filename=PurePosixPath(stored).name)


@router.get("/quality", response_model=Paged[PerImageAnalysis])
async def get_per_image_analysis(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    dataCollectionId: IdFilter = None,
    dataCollectionGroupId: IdFilter = None,
) -> dict[str, object]:
    """Image quality indicators of the visible collections (of one collection, or of one group's) as one
    ``PerImageAnalysis`` of series aligned on ``imageNumber``; ``skip``/``limit`` and ``total`` count images."""
    total, analysis = await datacollections.per_image_analysis(
        db, identity.scope, page, dataCollectionId, dataCollectionGroupId
    )
    return listed([analysis], total, page)


@router.get("/workflows/steps", response_model=Paged[WorkflowStep])
async def get_workflow_steps(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    state: StateDep,
    page: PageDep,
    workflowId: IdFilter = None,
    workflowStepId: IdFilter = None,
) -> dict[str, object]:
    """Steps of the visible workflows (of one), with which of their files can be served
    (``_metadata.attachments``); empty where the database has no workflows (Diamond's)."""
    total, rows = await workflows.get_steps(db, identity.scope, schema, page, workflowId, workflowStepId)
    found = iter(await available(state, [row[name] for row in rows for name in workflows.FILES]))
    for row in rows:
        row["_metadata"] = {"attachments": {name: next(found) for name in workflows.FILES}}
    return listed(rows, total, page)


@router.get(
    "/workflows/steps/{workflowStepId}",
    response_class=Response,
    responses={**responses(*FILE_ERRORS), **FILE},
)
async def get_workflow_step_attachment(
    workflowStepId: Id,
    attachmentType: WorkflowStepAttachment,
    request: Request,
    caller: FileCallerDep,
    state: StateDep,
    db: ReadSessionDep,
    schema: SchemaDep,
) -> Response:
    """One of a workflow step's files, named by ``attachmentType`` (Bearer or a signed URL's ``?onetime=``)."""
    step = await workflows.get_step(db, caller.scope, schema, workflowStepId)
    if step is None:
        raise NotFound(f"Workflow step {workflowStepId} not found")
    stored = step[attachmentType.value]
    return await file_response(state, request, stored, filename=PurePosixPath(stored).name if stored else None)


@router.get("/{dataCollectionId}", response_model=DataCollectionUnified, responses=responses(NotFound, StoreTimeout))
async def get_datacollection(
    dataCollectionId: Id,
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    documents: DocumentsDep,
    state: StateDep,
    include: Annotated[
        str | None,
        Query(pattern=r"^(results|metrics)(,(results|metrics))?$", description="`results`, `metrics` or both"),
    ] = None,
) -> dict[str, object]:
    """One data collection with its group, session and sample; with ``include``, also its SQL auto-processing
    and its documents (latest result per series, per-kind metric summaries), both stores queried concurrently."""
    parts = set(include.split(",")) if include else set()
    item = await service.unified_datacollection(db, documents, identity, schema, dataCollectionId, parts, state.kept)
    if item is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    await mark_snapshots(state, [item])
    return item


@router.get(
    "/{dataCollectionId}/best-result", response_model=BestResult, responses=responses(NotFound, *DOCUMENT_STORE)
)
async def get_best_result(collection: DataCollectionDep, db: ReadSessionDep, documents: DocumentsDep) -> BestResult:
    """EXI's choice among SQL auto-processing and document results: inner-shell R-merge at most 10 %, then the
    highest symmetry, then the best resolution; with the reason and every candidate."""
    dc_id: int = collection["dataCollectionId"]
    return (await exports.best_results(db, documents, [dc_id]))[dc_id]


@router.post(
    "/group",
    response_model=Group,
    status_code=status.HTTP_201_CREATED,
    responses=ACQUISITION_WRITE,
)
async def store_group(
    body: Collection, caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response
) -> object:
    """Three bodies (MXCuBE, rows 15a/15b): the queue's group ``{sessionId, experimentType, slots}`` creates a
    group; a collection dict with ``group_id`` (a number or our earlier answer) or ``collection_id`` updates that
    group (its experiment type, sample, slots and barcodes, end time) and never creates one. Unknown experiment
    types leave the group's type empty."""
    report_ignored(response, body, "datacollections/group")
    scope, rule = caller.identity.scope, caller.rule

    async def work() -> dict[str, object]:
        if body.group_id is None and body.collection_id is None:
            return await acquisition.create_group(db, scope, rule, body)
        response.status_code = status.HTTP_200_OK
        return await acquisition.update_group(db, scope, rule, body)

    return await once(work)


@router.post(
    "/datacollection",
    response_model=CollectionStored | list[int],
    status_code=status.HTTP_201_CREATED,
    responses=ACQUISITION_WRITE,
)
async def store_datacollection(
    body: Collection,
    caller: AcquirerDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    state: StateDep,
    once: OnceDep,
    response: Response,
) -> object:
    """MXCuBE's collection dict (§4.1 of docs/design/mxcube-calls.md). Without ``collection_id``: a new collection
    in the group ``group_id`` names, or in a new group of ``sessionId`` (201, ``{dataCollectionId,
    dataCollectionGroupId}``). With it: that collection is updated, never a second row (200, the array
    ``[dataCollectionId, dataCollectionGroupId]`` the adapter unpacks). Each write sets the end time to now."""
    report_ignored(response, body, "datacollections/datacollection")
    scope, rule = caller.identity.scope, caller.rule

    async def work() -> object:
        if body.collection_id is None:
            dc_id, group_id, session_id = await acquisition.store_collection(db, schema, scope, rule, body)

            async def recount(committed: bool) -> None:
                if committed:  # an ended session's count, if this worker keeps one, has just grown
                    state.session_counts.forget(session_id)

            when_settled(db, recount)
            return {"dataCollectionId": dc_id, "dataCollectionGroupId": group_id}
        response.status_code = status.HTTP_200_OK
        return list(await acquisition.update_collection(db, schema, scope, rule, body))

    return await once(work)
