"""Dewars, scoped to the caller: barcode look-up, writes, transport history, and the facility's dewar registry."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select

from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.models import (
    BLSample,
    Container,
    Dewar,
    DewarRegistry,
    DewarRegistryHasProposal,
    DewarTransportHistory,
    Proposal,
    Shipping,
)
from relational.reach import flush_or_conflict, owner_in_reach, proposal_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.shipping import refuse_if_holding_samples
from schemas.errors import Conflict, InvalidInput
from schemas.shipping import DewarCreate, DewarStatusChange, DewarUpdate, RegistryCreate
from schemas.times import local_now

_FIELDS = (
    "dewarId shippingId code barCode facilityCode dewarStatus storageLocation type comments "
    "trackingNumberToSynchrotron trackingNumberFromSynchrotron"
).split()


def _visible(scope: Scope) -> AnySelect:
    """Dewars the caller sees, with their shipment's proposal and name (no order)."""
    return (
        select(*[getattr(Dewar, f) for f in _FIELDS], Shipping.proposalId, Shipping.shippingName)
        .join(Shipping, Shipping.shippingId == Dewar.shippingId)
        .where(scope.proposals(Shipping.proposalId))
    )


_ORDER = (Dewar.dewarId.desc(),)


async def get_dewars(
    db: ReadSession,
    scope: Scope,
    page: Page,
    *,
    dewarId: int | None = None,
    shippingId: int | None = None,
    proposal: str | None = None,
    barCode: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible dewars, newest first, with container and sample counts; ``barCode`` is the scanner look-up."""
    query = _visible(scope).order_by(*_ORDER)
    query = where_given(query, (Dewar.dewarId, dewarId), (Dewar.shippingId, shippingId), (Dewar.barCode, barCode))
    if proposal:
        query = query.join(Proposal, Proposal.proposalId == Shipping.proposalId).where(proposal_name == proposal)
    total, rows = await paged(db, query, page)
    counts = await _counts(db, [r["dewarId"] for r in rows])
    for row in rows:
        row["_metadata"] = counts.get(row["dewarId"], {"containers": 0, "samples": 0})
    return total, rows


async def _counts(db: ReadSession, ids: list[int]) -> dict[int | None, dict[str, int]]:
    if not ids:
        return {}
    query = (
        select(Container.dewarId, func.count(func.distinct(Container.containerId)), func.count(BLSample.blSampleId))
        .outerjoin(BLSample, BLSample.containerId == Container.containerId)
        .where(Container.dewarId.in_(ids))
        .group_by(Container.dewarId)
    )
    return {did: {"containers": c, "samples": s} for did, c, s in await db.execute(query)}


async def _unique_barcode(db: ReadSession, barcode: str | None, dewar_id: int | None = None) -> None:
    if barcode is None:
        return
    other = await db.scalar(select(Dewar.dewarId).where(Dewar.barCode == barcode, Dewar.dewarId != (dewar_id or 0)))
    if other is not None:
        raise Conflict(f"Dewar barcode `{barcode}` is already used by dewar {other}")


async def _registered(db: ReadSession, code: str | None, proposal_id: int) -> None:
    """A facility code must be in the registry and serve the dewar's proposal."""
    if code is None:
        return
    entry = await db.scalar(select(DewarRegistry).where(DewarRegistry.facilityCode == code))
    if entry is None:
        raise InvalidInput(f"Facility code `{code}` is not in the dewar registry")
    linked = entry.proposalId == proposal_id or await db.scalar(
        select(DewarRegistryHasProposal.dewarRegistryHasProposalId).where(
            DewarRegistryHasProposal.dewarRegistryId == entry.dewarRegistryId,
            DewarRegistryHasProposal.proposalId == proposal_id,
        )
    )
    if not linked:
        raise InvalidInput(f"Registered dewar `{code}` is not linked to proposal {proposal_id}")


async def create_dewar(db: WriteSession, scope: Scope, data: DewarCreate) -> int:
    """A new dewar in a shipment the caller reaches."""
    proposal_id = await owner_in_reach(db, scope, "shipping", data.shippingId)
    await _unique_barcode(db, data.barCode)
    await _registered(db, data.facilityCode, proposal_id)
    dewar = Dewar(**data.model_dump(), dewarStatus="opened", bltimeStamp=local_now())
    db.add(dewar)
    await flush_or_conflict(db, f"Dewar `{data.code}`")
    return dewar.dewarId


async def update_dewar(db: WriteSession, scope: Scope, dewar_id: int, patch: DewarUpdate) -> None:
    proposal_id = await owner_in_reach(db, scope, "dewar", dewar_id)
    changes = patch.model_dump(exclude_unset=True)
    await _unique_barcode(db, changes.get("barCode"), dewar_id)
    await _registered(db, changes.get("facilityCode"), proposal_id)
    dewar = await db.get(Dewar, dewar_id)
    for key, value in changes.items():
        setattr(dewar, key, value)
    await flush_or_conflict(db, f"Dewar {dewar_id}")


async def delete_dewar(db: WriteSession, scope: Scope, dewar_id: int) -> None:
    """Remove an empty dewar with its containers and history; 409 while it holds samples."""
    await owner_in_reach(db, scope, "dewar", dewar_id)
    await refuse_if_holding_samples(db, Container.dewarId == dewar_id, f"Dewar {dewar_id}")
    await db.execute(delete(Container).where(Container.dewarId == dewar_id))
    await db.execute(delete(DewarTransportHistory).where(DewarTransportHistory.dewarId == dewar_id))
    await db.execute(delete(Dewar).where(Dewar.dewarId == dewar_id))
    await flush_or_conflict(db, f"Deleting dewar {dewar_id}")


async def record_status(
    db: WriteSession, scope: Scope, dewar_id: int, change: DewarStatusChange, statuses: Sequence[str]
) -> int:
    """A status change (with location and time) in DewarTransportHistory; the dewar takes the new state."""
    if change.dewarStatus not in statuses:
        raise InvalidInput(f"Unknown dewar status `{change.dewarStatus}`; known: {', '.join(statuses)}")
    await owner_in_reach(db, scope, "dewar", dewar_id)
    when = change.arrivalDate or local_now()
    entry = DewarTransportHistory(
        dewarId=dewar_id, dewarStatus=change.dewarStatus, storageLocation=change.storageLocation, arrivalDate=when
    )
    db.add(entry)
    dewar = await db.get(Dewar, dewar_id)
    assert dewar is not None
    dewar.dewarStatus, dewar.storageLocation = change.dewarStatus, change.storageLocation or dewar.storageLocation
    await flush_or_conflict(db, f"Status of dewar {dewar_id}")
    return entry.DewarTransportHistoryId


async def get_history(db: ReadSession, scope: Scope, dewar_id: int) -> list[dict[str, Any]]:
    """A visible dewar's transport history, oldest first."""
    await owner_in_reach(db, scope, "dewar", dewar_id)
    query = (
        select(
            DewarTransportHistory.DewarTransportHistoryId,
            DewarTransportHistory.dewarId,
            DewarTransportHistory.dewarStatus,
            DewarTransportHistory.storageLocation,
            DewarTransportHistory.arrivalDate,
        )
        .where(DewarTransportHistory.dewarId == dewar_id)
        .order_by(DewarTransportHistory.arrivalDate, DewarTransportHistory.DewarTransportHistoryId)
    )
    return [dict(r) for r in (await db.execute(query)).mappings()]


async def get_registry(
    db: ReadSession, scope: Scope, page: Page, facilityCode: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Registered dewars: staff see all, others those serving a proposal they reach."""
    linked = select(DewarRegistryHasProposal.dewarRegistryId).where(
        scope.proposals(DewarRegistryHasProposal.proposalId)
    )
    query = select(
        DewarRegistry.dewarRegistryId, DewarRegistry.facilityCode, DewarRegistry.purchaseDate, DewarRegistry.bltimestamp
    ).order_by(DewarRegistry.facilityCode)
    if not scope.is_staff:
        query = query.where(or_(DewarRegistry.dewarRegistryId.in_(linked), scope.proposals(DewarRegistry.proposalId)))
    if facilityCode:
        query = query.where(DewarRegistry.facilityCode == facilityCode)
    total, rows = await paged(db, query, page)
    names: dict[int | None, list[str]] = {}
    ids = [r["dewarRegistryId"] for r in rows]
    for rid, name in await db.execute(
        select(DewarRegistryHasProposal.dewarRegistryId, proposal_name)
        .join(Proposal, Proposal.proposalId == DewarRegistryHasProposal.proposalId)
        .where(DewarRegistryHasProposal.dewarRegistryId.in_(ids))
        .order_by(proposal_name)
    ):
        names.setdefault(rid, []).append(name)
    for row in rows:
        row["proposals"] = names.get(row["dewarRegistryId"], [])
    return total, rows


async def register_dewar(db: WriteSession, scope: Scope, data: RegistryCreate, person_id: int) -> int:
    """Staff only (the router checks): a facility code, linked to the given proposals."""
    if await db.scalar(select(DewarRegistry.dewarRegistryId).where(DewarRegistry.facilityCode == data.facilityCode)):
        raise Conflict(f"Facility code `{data.facilityCode}` is already registered")
    for proposal_id in data.proposalIds:
        await proposal_in_reach(db, scope, proposal_id)
    entry = DewarRegistry(facilityCode=data.facilityCode, purchaseDate=data.purchaseDate)
    db.add(entry)
    await flush_or_conflict(db, f"Facility code `{data.facilityCode}`")
    db.add_all(
        DewarRegistryHasProposal(dewarRegistryId=entry.dewarRegistryId, proposalId=p, personId=person_id)
        for p in sorted(set(data.proposalIds))
    )
    await flush_or_conflict(db, f"Facility code `{data.facilityCode}`")
    return entry.dewarRegistryId


async def of_shippings(db: ReadSession, scope: Scope, shipping_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per shipment, that page of its visible dewars, newest first (without counts)."""
    return await by_parent(db, _visible(scope), Dewar.shippingId, shipping_ids, _ORDER, page)


async def by_dewar_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible dewars among ``ids`` (without counts)."""
    return await by_ids(db, _visible(scope), Dewar.dewarId, ids)
