"""Data collections."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import AcquirerDep, DocumentsDep, IdentityDep, ReadSessionDep, SchemaDep, WriteSessionDep
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.params import Id
from app.routers.valid import DataCollectionDep
from app.services import datacollections as service
from app.services import exports
from documents.store import StoreTimeout
from relational import acquisition
from schemas.acquisition import Collection, CollectionStored, Group
from schemas.best_result import BestResult
from schemas.datacollections import DataCollectionUnified
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(prefix="/datacollections", tags=["Data collections"], responses=responses(*AUTHENTICATED))
#: what an acquisition write may answer: out of reach, not allowed, refused, a retry in flight, the key store down
ACQUISITION_WRITE = responses(NotFound, Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE)


@router.get("/{dataCollectionId}", response_model=DataCollectionUnified, responses=responses(NotFound, StoreTimeout))
async def get_datacollection(
    dataCollectionId: Id,
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    documents: DocumentsDep,
    include: Annotated[
        str | None,
        Query(pattern=r"^(results|metrics)(,(results|metrics))?$", description="`results`, `metrics` or both"),
    ] = None,
) -> dict[str, object]:
    """One data collection with its group, session and sample; with ``include``, also its SQL auto-processing
    and its documents (latest result per series, per-kind metric summaries), both stores queried concurrently."""
    parts = set(include.split(",")) if include else set()
    item = await service.unified_datacollection(db, documents, identity, schema, dataCollectionId, parts)
    if item is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
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
    body: Collection, caller: AcquirerDep, db: WriteSessionDep, schema: SchemaDep, once: OnceDep, response: Response
) -> object:
    """MXCuBE's collection dict (§4.1 of docs/design/mxcube-calls.md). Without ``collection_id``: a new collection
    in the group ``group_id`` names, or in a new group of ``sessionId`` (201, ``{dataCollectionId,
    dataCollectionGroupId}``). With it: that collection is updated, never a second row (200, the array
    ``[dataCollectionId, dataCollectionGroupId]`` the adapter unpacks). Each write sets the end time to now."""
    report_ignored(response, body, "datacollections/datacollection")
    scope, rule = caller.identity.scope, caller.rule

    async def work() -> object:
        if body.collection_id is None:
            dc_id, group_id = await acquisition.store_collection(db, schema, scope, rule, body)
            return {"dataCollectionId": dc_id, "dataCollectionGroupId": group_id}
        response.status_code = status.HTTP_200_OK
        return list(await acquisition.update_collection(db, schema, scope, rule, body))

    return await once(work)
