"""Auto-processing results and statuses."""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep
from app.json_guard import too_deep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import MAX_ID, IdFilter
from relational import processings
from schemas.common import Paged
from schemas.errors import InvalidInput
from schemas.processings import (
    AutoProcProgram,
    AutoProcProgramIntegration,
    MessageStatuses,
    ProcessingStatusesList,
)

router = APIRouter(prefix="/processings", tags=["Processings"], responses=responses(*AUTHENTICATED))
MAX_IDS = 1000


def dataCollectionIds(
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
async def get_statuses(identity: IdentityDep, db: ReadSessionDep, ids: Ids) -> dict[str, object]:
    """Processing status per visible collection: all five kinds, null where there is none."""
    return {"statuses": await processings.get_statuses(db, identity.scope, ids)}


@router.get("/messages/status", response_model=MessageStatuses, responses=responses(InvalidInput))
async def get_message_statuses(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, ids: Ids
) -> dict[str, object]:
    """Counts of program messages by severity per visible collection that has any."""
    return {"statuses": await processings.get_message_statuses(db, identity.scope, schema, ids)}
