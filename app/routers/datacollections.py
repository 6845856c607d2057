"""Data collections."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import DocumentsDep, IdentityDep, ReadSessionDep, SchemaDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.params import Id
from app.routers.valid import DataCollectionDep
from app.services import datacollections as service
from app.services import exports
from documents.store import StoreTimeout
from schemas.best_result import BestResult
from schemas.datacollections import DataCollectionUnified
from schemas.errors import NotFound

router = APIRouter(prefix="/datacollections", tags=["Data collections"], responses=responses(*AUTHENTICATED))


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
