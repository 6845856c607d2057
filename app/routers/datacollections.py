"""Data collections."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app import hybrid
from app.deps import IdentityDep, ReadSessionDep, SchemaDep, StateDep
from app.errors import NotFound
from app.routers.sessions import MAX_ID
from schemas.datacollections import DataCollectionUnified

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
    item = await hybrid.unified_datacollection(db, state.documents, identity, schema, dataCollectionId, parts)
    if item is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    return item
