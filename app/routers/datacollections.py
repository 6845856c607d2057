"""Data collections."""

from typing import Annotated

from fastapi import APIRouter, Path

from app.deps import IdentityDep, ReadSessionDep, SchemaDep
from app.errors import NotFound
from app.routers.sessions import MAX_ID
from relational import datacollections
from schemas.datacollections import DataCollectionDetail

router = APIRouter(prefix="/datacollections", tags=["Data collections"])


@router.get("/{dataCollectionId}", response_model=DataCollectionDetail, responses={404: {"description": "Not found"}})
async def get_datacollection(
    dataCollectionId: Annotated[int, Path(ge=1, le=MAX_ID)],
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
) -> dict[str, object]:
    """One data collection with its group, session and sample."""
    item = await datacollections.get_datacollection(db, identity.scope, schema, dataCollectionId)
    if item is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    return item
