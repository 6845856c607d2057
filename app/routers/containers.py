"""Containers (pucks, plates): barcode look-up and writes."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, StateDep, WriteSessionDep
from app.routers.proposals import PROPOSAL_PATTERN
from app.routers.sessions import MAX_ID
from relational import containers
from relational.common import Page
from schemas.common import Paged
from schemas.errors import NotFound
from schemas.shipping import Container, ContainerCreate, ContainerUpdate

router = APIRouter(prefix="/containers", tags=["Containers"])
ContainerId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOT_FOUND = {404: {"description": "No such container (or out of reach)"}}


@router.get("", response_model=Paged[Container])
async def get_containers(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    dewarId: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    proposal: Annotated[str | None, Query(pattern=PROPOSAL_PATTERN, max_length=60)] = None,
    barcode: Annotated[str | None, Query(min_length=1, max_length=45, description="Scanner look-up")] = None,
) -> dict[str, object]:
    """Containers the caller may see, newest first."""
    total, rows = await containers.get_containers(
        db, identity.scope, page, dewarId=dewarId, proposal=proposal, barcode=barcode
    )
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


async def _one(db: ReadSessionDep, identity: IdentityDep, container_id: int) -> dict[str, object]:
    _, rows = await containers.get_containers(db, identity.scope, Page(0, 1), containerId=container_id)
    if not rows:
        raise NotFound(f"Container {container_id} not found")
    return rows[0]


@router.get("/{containerId}", response_model=Container, responses=NOT_FOUND)
async def get_container(containerId: ContainerId, identity: IdentityDep, db: ReadSessionDep) -> dict[str, object]:
    """One container."""
    return await _one(db, identity, containerId)


@router.post("", response_model=Container, status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
async def create_container(
    data: ContainerCreate, identity: IdentityDep, db: WriteSessionDep, state: StateDep
) -> dict[str, object]:
    """A new container in a dewar; its barcode must be unique; capacity defaults to its type's."""
    new_id = await containers.create_container(db, identity.scope, data, state.settings.container_types)
    return await _one(db, identity, new_id)


@router.patch("/{containerId}", response_model=Container, responses=NOT_FOUND)
async def update_container(
    containerId: ContainerId, patch: ContainerUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields."""
    await containers.update_container(db, identity.scope, containerId, patch)
    return await _one(db, identity, containerId)


@router.delete("/{containerId}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_container(containerId: ContainerId, identity: IdentityDep, db: WriteSessionDep) -> None:
    """Remove an empty container; 409 while it holds samples."""
    await containers.delete_container(db, identity.scope, containerId)
