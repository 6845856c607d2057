"""Containers (pucks, plates): barcode look-up and writes."""

from typing import Annotated

from fastapi import Query, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, StateDep, WriteSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import Id, IdFilter, ProposalFilter
from app.routers.routing import Router
from app.routers.valid import ContainerDep, container_of
from relational import containers
from schemas.common import Paged
from schemas.errors import Conflict, InvalidInput, NotFound
from schemas.shipping import Container, ContainerCreate, ContainerUpdate

router = Router(prefix="/containers", tags=["Containers"], responses=responses(*AUTHENTICATED))


@router.get("", response_model=Paged[Container])
async def get_containers(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    dewarId: IdFilter = None,
    proposal: ProposalFilter = None,
    barcode: Annotated[str | None, Query(min_length=1, max_length=45, description="Scanner look-up")] = None,
) -> dict[str, object]:
    """Containers the caller may see, newest first."""
    total, rows = await containers.get_containers(
        db, identity.scope, page, dewarId=dewarId, proposal=proposal, barcode=barcode
    )
    return listed(rows, total, page)


@router.get("/{containerId}", response_model=Container, responses=responses(NotFound))
async def get_container(container: ContainerDep) -> dict[str, object]:
    """One container."""
    return container


@router.post(
    "",
    response_model=Container,
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Conflict, InvalidInput),
)
async def create_container(
    data: ContainerCreate, identity: IdentityDep, db: WriteSessionDep, state: StateDep
) -> dict[str, object]:
    """A new container in a dewar; its barcode must be unique; capacity defaults to its type's."""
    new_id = await containers.create_container(db, identity.scope, data, state.settings.container_types)
    return await container_of(db, identity, new_id)


@router.patch("/{containerId}", response_model=Container, responses=responses(NotFound, Conflict, InvalidInput))
async def update_container(
    containerId: Id, patch: ContainerUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields."""
    await containers.update_container(db, identity.scope, containerId, patch)
    return await container_of(db, identity, containerId)


@router.delete("/{containerId}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(NotFound, Conflict))
async def delete_container(containerId: Id, identity: IdentityDep, db: WriteSessionDep) -> None:
    """Remove an empty container; 409 while it holds samples."""
    await containers.delete_container(db, identity.scope, containerId)
