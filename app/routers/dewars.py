"""Dewars: barcode look-up, writes, transport history, and the registry of facility codes."""

import re
from typing import Annotated

from fastapi import Query, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, StateDep, WriteSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import Id, IdFilter, ProposalFilter
from app.routers.routing import Router
from app.routers.valid import DewarDep, dewar_of
from relational import dewars
from relational.common import Page
from schemas.common import Paged
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound
from schemas.shipping import (
    Dewar,
    DewarCreate,
    DewarHistoryEntry,
    DewarStatusChange,
    DewarUpdate,
    RegistryCreate,
    RegistryEntry,
)

router = Router(prefix="/dewars", tags=["Dewars"], responses=responses(*AUTHENTICATED))
registry = Router(prefix="/dewar-registry", tags=["Dewars"], responses=responses(*AUTHENTICATED))


@router.get("", response_model=Paged[Dewar])
async def get_dewars(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    shippingId: IdFilter = None,
    proposal: ProposalFilter = None,
    barCode: Annotated[str | None, Query(min_length=1, max_length=45, description="Scanner look-up")] = None,
) -> dict[str, object]:
    """Dewars the caller may see, newest first."""
    total, rows = await dewars.get_dewars(
        db, identity.scope, page, shippingId=shippingId, proposal=proposal, barCode=barCode
    )
    return listed(rows, total, page)


@router.get("/{dewarId}", response_model=Dewar, responses=responses(NotFound))
async def get_dewar(dewar: DewarDep) -> dict[str, object]:
    """One dewar."""
    return dewar


@router.post(
    "", response_model=Dewar, status_code=status.HTTP_201_CREATED, responses=responses(NotFound, Conflict, InvalidInput)
)
async def create_dewar(data: DewarCreate, identity: IdentityDep, db: WriteSessionDep) -> dict[str, object]:
    """A new dewar in a shipment; its barcode must be unique, its facility code registered for the proposal."""
    return await dewar_of(db, identity, await dewars.create_dewar(db, identity.scope, data))


@router.patch("/{dewarId}", response_model=Dewar, responses=responses(NotFound, Conflict, InvalidInput))
async def update_dewar(
    dewarId: Id, patch: DewarUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields (status changes go through /history)."""
    await dewars.update_dewar(db, identity.scope, dewarId, patch)
    return await dewar_of(db, identity, dewarId)


@router.delete("/{dewarId}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(NotFound, Conflict))
async def delete_dewar(dewarId: Id, identity: IdentityDep, db: WriteSessionDep) -> None:
    """Remove an empty dewar with its containers; 409 while it holds samples."""
    await dewars.delete_dewar(db, identity.scope, dewarId)


@router.get("/{dewarId}/history", response_model=list[DewarHistoryEntry], responses=responses(NotFound))
async def get_history(dewarId: Id, identity: IdentityDep, db: ReadSessionDep) -> list[dict[str, object]]:
    """The dewar's status changes, oldest first."""
    return await dewars.get_history(db, identity.scope, dewarId)


@router.post(
    "/{dewarId}/history",
    response_model=list[DewarHistoryEntry],
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Conflict, InvalidInput),
)
async def record_status(
    dewarId: Id, change: DewarStatusChange, identity: IdentityDep, db: WriteSessionDep, state: StateDep
) -> list[dict[str, object]]:
    """Record a status change (e.g. `at facility`, `on beamline`) with location and time; the whole history back."""
    await dewars.record_status(db, identity.scope, dewarId, change, state.settings.dewar_statuses)
    return await dewars.get_history(db, identity.scope, dewarId)


@registry.get("", response_model=Paged[RegistryEntry])
async def get_registry(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    facilityCode: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, object]:
    """Registered dewars: staff see all, others those serving their proposals."""
    total, rows = await dewars.get_registry(db, identity.scope, page, facilityCode)
    return listed(rows, total, page)


@registry.post(
    "",
    response_model=RegistryEntry,
    status_code=status.HTTP_201_CREATED,
    responses=responses(Forbidden, Conflict, InvalidInput),
)
async def register_dewar(
    data: RegistryCreate, identity: IdentityDep, db: WriteSessionDep, state: StateDep
) -> dict[str, object]:
    """Staff only: a facility code matching the facility's pattern, linked to proposals."""
    if not identity.scope.is_staff:
        raise Forbidden("Only facility staff register dewars")
    pattern = state.settings.dewar_code_pattern
    if not re.fullmatch(pattern, data.facilityCode):
        raise InvalidInput(f"Facility code `{data.facilityCode}` does not match this facility's pattern {pattern}")
    await dewars.register_dewar(db, identity.scope, data, identity.personId)
    return (await dewars.get_registry(db, identity.scope, Page(0, 1), data.facilityCode))[1][0]
