"""Shipments, scoped to the caller: lists, one with its contents, writes, deletion, manifest."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select

from relational.batches import Slice, by_ids, by_parent
from relational.common import Page, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.models import (
    BLSample,
    BLSession,
    Container,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    Dewar,
    DewarTransportHistory,
    DiffractionPlan,
    LabContact,
    Proposal,
    Protein,
    Shipping,
    ShippingHasSession,
)
from relational.reach import flush_or_conflict, owner_in_reach, proposal_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import Conflict, InvalidInput, NotFound
from schemas.shipping import (
    HAND_CARRIED,
    DeliveryMode,
    ShippingCreate,
    ShippingUpdate,
    delivery_mode,
    delivery_problems,
)
from schemas.times import local_now

_FIELDS = (
    "shippingId proposalId shippingName shippingStatus comments safetyLevel creationDate deliveryAgent_agentName "
    "deliveryAgent_flightCode deliveryAgent_shippingDate deliveryAgent_deliveryDate sendingLabContactId "
    "returnLabContactId"
).split()


def _query(scope: Scope) -> Any:
    return (
        select(
            *[getattr(Shipping, f) for f in _FIELDS],
            func.coalesce(Shipping.bltimeStamp, Shipping.creationDate).label("bltimeStamp"),
            proposal_name,
        )
        .join(Proposal, Proposal.proposalId == Shipping.proposalId)
        .where(scope.proposals(Shipping.proposalId))
    )


async def get_shippings(
    db: ReadSession, scope: Scope, page: Page, proposal: str | None = None, shippingId: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Visible shipments, newest first, with dewar, container and sample counts."""
    query = _query(scope).order_by(Shipping.shippingId.desc())
    query = where_given(query, (proposal_name, proposal or None), (Shipping.shippingId, shippingId))
    total, rows = await paged(db, query, page)
    counts = await _counts(db, [r["shippingId"] for r in rows])
    for row in rows:
        row["deliveryMode"] = delivery_mode(row["deliveryAgent_agentName"])
        row["_metadata"] = counts.get(row["shippingId"], {"dewars": 0, "containers": 0, "samples": 0})
    return total, rows


async def _counts(db: ReadSession, ids: list[int]) -> dict[int | None, dict[str, int]]:
    if not ids:
        return {}
    query = (
        select(
            Dewar.shippingId,
            func.count(func.distinct(Dewar.dewarId)),
            func.count(func.distinct(Container.containerId)),
            func.count(BLSample.blSampleId),
        )
        .outerjoin(Container, Container.dewarId == Dewar.dewarId)
        .outerjoin(BLSample, BLSample.containerId == Container.containerId)
        .where(Dewar.shippingId.in_(ids))
        .group_by(Dewar.shippingId)
    )
    return {sid: {"dewars": d, "containers": c, "samples": s} for sid, d, c, s in await db.execute(query)}


async def get_contents(db: ReadSession, shipping_id: int) -> list[dict[str, Any]]:
    """A (visible) shipment's dewars → containers → samples, with counts, in three queries."""
    dewars = [
        dict(r)
        for r in (
            await db.execute(
                select(
                    Dewar.dewarId,
                    Dewar.code,
                    Dewar.barCode,
                    Dewar.facilityCode,
                    Dewar.dewarStatus,
                    Dewar.storageLocation,
                    Dewar.type,
                )
                .where(Dewar.shippingId == shipping_id)
                .order_by(Dewar.dewarId)
            )
        ).mappings()
    ]
    containers = [
        dict(r)
        for r in (
            await db.execute(
                select(
                    Container.containerId,
                    Container.dewarId,
                    Container.code,
                    Container.barcode,
                    Container.containerType,
                    Container.capacity,
                )
                .where(Container.dewarId.in_([d["dewarId"] for d in dewars]))
                .order_by(Container.containerId)
            )
        ).mappings()
    ]
    samples = await _samples_of(db, [c["containerId"] for c in containers])
    for container in containers:
        container["BLSample"] = samples.get(container["containerId"], [])
        container["_metadata"] = {"samples": len(container["BLSample"])}
    for dewar in dewars:
        dewar["Container"] = [c for c in containers if c["dewarId"] == dewar["dewarId"]]
        dewar["_metadata"] = {
            "containers": len(dewar["Container"]),
            "samples": sum(c["_metadata"]["samples"] for c in dewar["Container"]),
        }
    return dewars


async def _samples_of(db: ReadSession, container_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not container_ids:
        return {}
    query = (
        select(
            BLSample.blSampleId,
            BLSample.containerId,
            BLSample.name,
            BLSample.location,
            BLSample.code,
            BLSample.comments,
            Crystal.proteinId,
            Protein.acronym,
            DiffractionPlan.experimentKind,
        )
        .outerjoin(Crystal, Crystal.crystalId == BLSample.crystalId)
        .outerjoin(Protein, Protein.proteinId == Crystal.proteinId)
        .outerjoin(DiffractionPlan, DiffractionPlan.diffractionPlanId == BLSample.diffractionPlanId)
        .where(BLSample.containerId.in_(container_ids))
        .order_by(BLSample.containerId, BLSample.blSampleId)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in (await db.execute(query)).mappings():
        out.setdefault(r["containerId"], []).append(dict(r))
    return out


async def _check_contacts(db: ReadSession, proposal_id: int, values: dict[str, Any]) -> None:
    for key in ("sendingLabContactId", "returnLabContactId"):
        if values.get(key) is None:
            continue
        owner = await db.scalar(select(LabContact.proposalId).where(LabContact.labContactId == values[key]))
        if owner != proposal_id:
            raise InvalidInput(f"`{key}` {values[key]} is not a lab contact of proposal {proposal_id}")


def _stored_delivery(values: dict[str, Any]) -> dict[str, Any]:
    """The columns for an API delivery mode: a hand-carried shipment carries the marker as its agent name."""
    stored = {k: v for k, v in values.items() if k != "deliveryMode"}
    if values.get("deliveryMode") == DeliveryMode.hand_carried:
        stored["deliveryAgent_agentName"] = HAND_CARRIED
    return stored


async def create_shipping(db: WriteSession, scope: Scope, data: ShippingCreate) -> int:
    """A new shipment in a proposal the caller reaches."""
    await proposal_in_reach(db, scope, data.proposalId)
    values = data.model_dump()
    await _check_contacts(db, data.proposalId, values)
    now = local_now()
    shipping = Shipping(**_stored_delivery(values), creationDate=now, bltimeStamp=now, shippingStatus="opened")
    db.add(shipping)
    await flush_or_conflict(db, f"Shipment `{data.shippingName}`")
    return shipping.shippingId


async def update_shipping(db: WriteSession, scope: Scope, shipping_id: int, patch: ShippingUpdate) -> None:
    """Change the given fields; the delivery fields must stay complete for the (new) mode."""
    proposal_id = await owner_in_reach(db, scope, "shipping", shipping_id)
    shipping = await db.get(Shipping, shipping_id)
    assert shipping is not None
    changes = patch.model_dump(exclude_unset=True)
    current = {f: getattr(shipping, f) for f in _FIELDS}
    current["deliveryMode"] = delivery_mode(shipping.deliveryAgent_agentName)
    if current["deliveryMode"] == DeliveryMode.hand_carried:
        current["deliveryAgent_agentName"] = None  # the marker is no courier's name
    merged = current | changes
    if problems := delivery_problems(merged):
        raise InvalidInput("; ".join(problems))
    await _check_contacts(db, proposal_id, changes)
    for key, value in _stored_delivery(merged).items():
        if key in changes or key == "deliveryAgent_agentName":
            setattr(shipping, key, value)
    await flush_or_conflict(db, f"Shipment {shipping_id}")


async def delete_shipping(db: WriteSession, scope: Scope, shipping_id: int) -> None:
    """Remove an empty shipment with its dewars, containers and their history; 409 while it holds samples."""
    await owner_in_reach(db, scope, "shipping", shipping_id)
    dewar_ids = select(Dewar.dewarId).where(Dewar.shippingId == shipping_id)
    await refuse_if_holding_samples(db, Container.dewarId.in_(dewar_ids), f"Shipment {shipping_id}")
    await db.execute(delete(Container).where(Container.dewarId.in_(dewar_ids)))
    await db.execute(delete(DewarTransportHistory).where(DewarTransportHistory.dewarId.in_(dewar_ids)))
    await db.execute(delete(Dewar).where(Dewar.shippingId == shipping_id))
    await db.execute(delete(ShippingHasSession).where(ShippingHasSession.shippingId == shipping_id))
    await db.execute(delete(Shipping).where(Shipping.shippingId == shipping_id))
    await flush_or_conflict(db, f"Deleting shipment {shipping_id}")


async def refuse_if_holding_samples(db: ReadSession, containers: Any, what: str) -> None:
    """409 when the containers matched by ``containers`` hold samples (which data collections may use)."""
    query = select(func.count(BLSample.blSampleId)).join(Container, Container.containerId == BLSample.containerId)
    held = int((await db.execute(query.where(containers))).scalar_one())
    if held:
        raise Conflict(f"{what} still holds {held} sample(s); move or remove them first")


async def get_manifest(db: ReadSession, scope: Scope, shipping_id: int) -> list[dict[str, Any]]:
    """One row per sample (or per empty container or dewar) of a visible shipment, with barcodes and protocol."""
    if not (await get_shippings(db, scope, Page(0, 1), shippingId=shipping_id))[1]:
        raise NotFound(f"Shipment {shipping_id} not found")
    rows = []
    for dewar in await get_contents(db, shipping_id):
        base = {"dewar": dewar["code"], "dewarBarCode": dewar["barCode"], "facilityCode": dewar["facilityCode"]}
        for container in dewar["Container"] or [{}]:
            box = base | {
                "container": container.get("code"),
                "containerBarcode": container.get("barcode"),
                "containerType": container.get("containerType"),
            }
            for sample in container.get("BLSample") or [{}]:
                rows.append(
                    box
                    | {
                        "position": sample.get("location"),
                        "sample": sample.get("name"),
                        "pinBarcode": sample.get("code"),
                        "protein": sample.get("acronym"),
                        "experimentKind": sample.get("experimentKind"),
                        "comments": sample.get("comments"),
                    }
                )
    return rows


async def visible(db: ReadSession, scope: Scope, shipping_id: int) -> bool:
    query = select(Shipping.shippingId).where(Shipping.shippingId == shipping_id, scope.proposals(Shipping.proposalId))
    return (await db.execute(query)).scalar_one_or_none() is not None


async def sample_collections(
    db: ReadSession, scope: Scope, shipping_id: int | None, proposal_id: int | None, batch: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Samples of a shipment (or of a proposal's proteins) with each of their data collections (a sample without
    any once, with a null collection), in batches of ``batch`` samples in sample order.

    Paged by key (the next ``batch`` sample ids after the last one), each page read whole: the caller runs its own
    queries between batches, and a streamed result on the same connection would be cut short by them."""
    samples = (
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .where(scope.proposals(Protein.proposalId))
        .order_by(BLSample.blSampleId)
        .limit(batch)
    )
    if shipping_id is not None:
        samples = samples.join(Container, Container.containerId == BLSample.containerId).join(
            Dewar, Dewar.dewarId == Container.dewarId
        )
    samples = where_given(samples, (Dewar.shippingId, shipping_id), (Protein.proposalId, proposal_id))
    rows = (
        select(
            proposal_name,
            Shipping.shippingName,
            Dewar.code.label("dewar"),
            Container.code.label("container"),
            BLSample.location,
            BLSample.name.label("sample"),
            Protein.acronym,
            DataCollection.dataCollectionId,
            DataCollection.startTime,
        )
        .select_from(BLSample)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .join(Proposal, Proposal.proposalId == Protein.proposalId)
        .outerjoin(Container, Container.containerId == BLSample.containerId)
        .outerjoin(Dewar, Dewar.dewarId == Container.dewarId)
        .outerjoin(Shipping, Shipping.shippingId == Dewar.shippingId)
        .outerjoin(  # only collections of sessions the caller reaches (a session member: that session's)
            DataCollectionGroup,
            and_(
                DataCollectionGroup.blSampleId == BLSample.blSampleId,
                DataCollectionGroup.sessionId.in_(select(BLSession.sessionId).where(scope.sessions())),
            ),
        )
        .outerjoin(DataCollection, DataCollection.dataCollectionGroupId == DataCollectionGroup.dataCollectionGroupId)
        .order_by(BLSample.blSampleId, DataCollection.dataCollectionId)
    )
    last = 0
    while ids := list((await db.execute(samples.where(BLSample.blSampleId > last))).scalars()):
        page = await db.execute(rows.where(BLSample.blSampleId.in_(ids)))
        yield [dict(r) for r in page.mappings()]
        last = ids[-1]


async def of_proposals(db: ReadSession, scope: Scope, proposal_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per proposal, that page of its visible shipments, newest first (without counts)."""
    order = (Shipping.shippingId.desc(),)
    return await by_parent(db, _query(scope), Shipping.proposalId, proposal_ids, order, page)


async def by_shipping_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible shipments among ``ids`` (without counts)."""
    return await by_ids(db, _query(scope), Shipping.shippingId, ids)
