"""Shipments: lists, contents, writes and the manifest."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, WriteSessionDep
from app.errors import NotFound
from app.routers.proposals import PROPOSAL_PATTERN
from app.routers.sessions import MAX_ID
from app.spreadsheets import csv_bytes
from relational import shipping
from relational.common import Page
from schemas.common import Paged
from schemas.shipping import Shipping, ShippingCreate, ShippingUpdate

router = APIRouter(prefix="/shippings", tags=["Shipping"])
ShippingId = Annotated[int, Path(ge=1, le=MAX_ID)]
ProposalName = Annotated[str, Query(pattern=PROPOSAL_PATTERN, max_length=60, description="e.g. MX1")]
NOT_FOUND = {404: {"description": "No such shipment (or out of reach)"}}


class Include(StrEnum):
    contents = "contents"


class ManifestFormat(StrEnum):
    csv = "csv"
    json = "json"


@router.get("", response_model=Paged[Shipping])
async def get_shippings(
    identity: IdentityDep, db: ReadSessionDep, page: PageDep, proposal: ProposalName | None = None
) -> dict[str, object]:
    """Shipments the caller may see, newest first, with dewar, container and sample counts."""
    total, rows = await shipping.get_shippings(db, identity.scope, page, proposal=proposal)
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


@router.get("/{shippingId}", response_model=Shipping, responses=NOT_FOUND)
async def get_shipping(
    shippingId: ShippingId, identity: IdentityDep, db: ReadSessionDep, include: Include | None = None
) -> dict[str, object]:
    """One shipment; ``?include=contents`` embeds its dewars → containers → samples."""
    _, rows = await shipping.get_shippings(db, identity.scope, Page(0, 1), shippingId=shippingId)
    if not rows:
        raise NotFound(f"Shipment {shippingId} not found")
    if include == Include.contents:
        rows[0]["Dewar"] = await shipping.get_contents(db, shippingId)
    return rows[0]


@router.post("", response_model=Shipping, status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
async def create_shipping(data: ShippingCreate, identity: IdentityDep, db: WriteSessionDep) -> dict[str, object]:
    """A new shipment: courier (agent, tracking number, shipping date) or hand-carried (who, which day)."""
    shipping_id = await shipping.create_shipping(db, identity.scope, data)
    return (await shipping.get_shippings(db, identity.scope, Page(0, 1), shippingId=shipping_id))[1][0]


@router.patch("/{shippingId}", response_model=Shipping, responses=NOT_FOUND)
async def update_shipping(
    shippingId: ShippingId, patch: ShippingUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields; the delivery fields must stay complete for the mode."""
    await shipping.update_shipping(db, identity.scope, shippingId, patch)
    return (await shipping.get_shippings(db, identity.scope, Page(0, 1), shippingId=shippingId))[1][0]


@router.delete("/{shippingId}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_shipping(shippingId: ShippingId, identity: IdentityDep, db: WriteSessionDep) -> None:
    """Remove an empty shipment with its dewars and containers; 409 while it holds samples."""
    await shipping.delete_shipping(db, identity.scope, shippingId)


@router.get("/{shippingId}/manifest", response_model=None, responses=NOT_FOUND)
async def get_manifest(
    shippingId: ShippingId, identity: IdentityDep, db: ReadSessionDep, format: ManifestFormat = ManifestFormat.csv
) -> Response | dict[str, object]:
    """Every dewar, container and sample of the shipment with barcodes and protocols (CSV or JSON)."""
    rows = await shipping.get_manifest(db, identity.scope, shippingId)
    if format == ManifestFormat.json:
        return {"shippingId": shippingId, "rows": rows}
    header = list(rows[0]) if rows else ["dewar"]
    content = csv_bytes(header, [list(r.values()) for r in rows])
    disposition = f'attachment; filename="shipment-{shippingId}-manifest.csv"'
    return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})
