"""Data collections."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.deps import IdentityDep, ReadSessionDep, SchemaDep, StateDep
from app.routers.sessions import MAX_ID
from app.services import datacollections as service
from app.services import exports
from relational import datacollections
from schemas.best_result import BestResult
from schemas.datacollections import DataCollectionUnified
from schemas.errors import NotFound

router = APIRouter(prefix="/datacollections", tags=["Data collections"])


@router.get("/{dataCollectionId}", response_model=DataCollectionUnified, responses={404: {"description": "Not found"}})
async def get_datacollection(
    dataCollectionId: Annotated[int, Path(ge=1, le=MAX_ID)],
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    state: StateDep,
    include: Annotated[
        str | None,
        Query(pattern=r"^(results|metrics)(,(results|metrics))?$", description="`results`, `metrics` or both"),
    ] = None,
) -> dict[str, object]:
    """One data collection with its group, session and sample; with ``include``, also its SQL auto-processing
    and its documents (latest result per series, per-kind metric summaries), both stores queried concurrently."""
    parts = set(include.split(",")) if include else set()
    item = await service.unified_datacollection(db, state.documents, identity, schema, dataCollectionId, parts)
    if item is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    return item


@router.get("/{dataCollectionId}/best-result", response_model=BestResult, responses={404: {"description": "Not found"}})
async def get_best_result(
    dataCollectionId: Annotated[int, Path(ge=1, le=MAX_ID)],
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    state: StateDep,
) -> BestResult:
    """EXI's choice among SQL auto-processing and document results: inner-shell R-merge at most 10 %, then the
    highest symmetry, then the best resolution; with the reason and every candidate."""
    if await datacollections.get_datacollection(db, identity.scope, schema, dataCollectionId) is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    return (await exports.best_results(db, state.documents, [dataCollectionId]))[dataCollectionId]
