"""Containers (pucks, plates), scoped to the caller: barcode look-up and writes."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select

from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.models import BLSample, Container, Dewar, Proposal, Shipping
from relational.reach import flush_or_conflict, lock, owner_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.shipping import refuse_if_holding_samples
from schemas.errors import Conflict, InvalidInput, NotFound
from schemas.shipping import ContainerCreate, ContainerUpdate
from schemas.times import local_now

_FIELDS = (
    "containerId dewarId code barcode containerType capacity containerStatus sampleChangerLocation "
    "beamlineLocation comments"
).split()


def _visible(scope: Scope) -> AnySelect:
    """Containers the caller sees, with their proposal (no order)."""
    return (
        select(*[getattr(Container, f) for f in _FIELDS], Shipping.proposalId)
        .join(Dewar, Dewar.dewarId == Container.dewarId)
        .join(Shipping, Shipping.shippingId == Dewar.shippingId)
        .where(scope.proposals(Shipping.proposalId))
    )


_ORDER = (Container.containerId.desc(),)


async def get_containers(
    db: ReadSession,
    scope: Scope,
    page: Page,
    *,
    containerId: int | None = None,
    dewarId: int | None = None,
    proposal: str | None = None,
    barcode: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible containers, newest first, with sample counts; ``barcode`` is the scanner look-up."""
    query = _visible(scope).order_by(*_ORDER)
    query = where_given(
        query, (Container.containerId, containerId), (Container.dewarId, dewarId), (Container.barcode, barcode)
    )
    if proposal:
        query = query.join(Proposal, Proposal.proposalId == Shipping.proposalId).where(proposal_name == proposal)
    total, rows = await paged(db, query, page)
    ids = [r["containerId"] for r in rows]
    counts: dict[int | None, int] = {}
    if ids:
        counts = dict(
            (
                await db.execute(
                    select(BLSample.containerId, func.count())
                    .where(BLSample.containerId.in_(ids))
                    .group_by(BLSample.containerId)
                )
            ).all()
        )
    for row in rows:
        row["_metadata"] = {"samples": counts.get(row["containerId"], 0)}
    return total, rows


async def unique_barcode(db: ReadSession, barcode: str | None, container_id: int | None = None) -> None:
    """409 naming the container that already carries ``barcode``."""
    if barcode is None:
        return
    other = await db.scalar(
        select(Container.containerId).where(Container.barcode == barcode, Container.containerId != (container_id or 0))
    )
    if other is not None:
        raise Conflict(f"Container barcode `{barcode}` is already used by container {other}")


def capacity_of(container_type: str, given: int | None, types: Mapping[str, int]) -> int:
    """The container's positions: its own capacity, else its type's; 422 for an unknown type without one."""
    if given is not None:
        return given
    if container_type not in types:
        raise InvalidInput(f"Unknown container type `{container_type}` (known: {', '.join(types)}); give a capacity")
    return types[container_type]


async def create_container(db: WriteSession, scope: Scope, data: ContainerCreate, types: Mapping[str, int]) -> int:
    """A new container in a dewar the caller reaches."""
    await owner_in_reach(db, scope, "dewar", data.dewarId)
    await unique_barcode(db, data.barcode)
    values = data.model_dump() | {"capacity": capacity_of(data.containerType, data.capacity, types)}
    container = Container(**values, containerStatus="opened", bltimeStamp=local_now())
    db.add(container)
    await flush_or_conflict(db, f"Container `{data.code}`")
    return container.containerId


async def update_container(db: WriteSession, scope: Scope, container_id: int, patch: ContainerUpdate) -> None:
    await owner_in_reach(db, scope, "container", container_id)
    changes = patch.model_dump(exclude_unset=True)
    await unique_barcode(db, changes.get("barcode"), container_id)
    container = await db.get(Container, container_id)
    for key, value in changes.items():
        setattr(container, key, value)
    await flush_or_conflict(db, f"Container {container_id}")


async def delete_container(db: WriteSession, scope: Scope, container_id: int) -> None:
    """Remove an empty container; 409 while it holds samples. Its row is locked first (``reach.lock``), so a sample
    being placed meanwhile either lands first (409 here) or finds no container (404), never lands and is cascaded
    away with it."""
    if not await lock(db, Container.containerId, container_id):
        raise NotFound(f"Container {container_id} not found")
    await owner_in_reach(db, scope, "container", container_id)
    await refuse_if_holding_samples(db, Container.containerId == container_id, f"Container {container_id}")
    await db.execute(delete(Container).where(Container.containerId == container_id))
    await flush_or_conflict(db, f"Deleting container {container_id}")


async def of_dewars(db: ReadSession, scope: Scope, dewar_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per dewar, that page of its visible containers, newest first (without counts)."""
    return await by_parent(db, _visible(scope), Container.dewarId, dewar_ids, _ORDER, page)


async def by_container_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible containers among ``ids`` (without counts)."""
    return await by_ids(db, _visible(scope), Container.containerId, ids)
