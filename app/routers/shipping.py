"""Shipments: lists, contents, writes, the spreadsheet import and the manifest."""

from enum import StrEnum
from typing import Annotated

from fastapi import File, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from app.deps import (
    DocumentsDep,
    IdentityDep,
    PageDep,
    ReadSessionDep,
    SchemaDep,
    StateDep,
    StreamingReadSessionDep,
    WriteSessionDep,
)
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import MAX_ID, PROPOSAL_PATTERN, Id
from app.routers.routing import Router
from app.routers.valid import shipping_of
from app.services import exports, shipment_import
from app.services.spreadsheets import csv_bytes
from relational import shipping
from schemas.common import Paged
from schemas.errors import Conflict, ImportRejected, InvalidInput, NotFound, PayloadTooLarge, UnsupportedFile
from schemas.shipment_import import ImportReport
from schemas.shipping import Shipping, ShippingCreate, ShippingUpdate

router = Router(prefix="/shippings", tags=["Shipping"], responses=responses(*AUTHENTICATED))
ProposalName = Annotated[str, Query(pattern=PROPOSAL_PATTERN, max_length=60, description="e.g. MX1")]


class Include(StrEnum):
    contents = "contents"


class SheetFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class ManifestFormat(StrEnum):
    csv = "csv"
    json = "json"


@router.get("", response_model=Paged[Shipping])
async def get_shippings(
    identity: IdentityDep, db: ReadSessionDep, page: PageDep, proposal: ProposalName | None = None
) -> dict[str, object]:
    """Shipments the caller may see, newest first, with dewar, container and sample counts."""
    total, rows = await shipping.get_shippings(db, identity.scope, page, proposal=proposal)
    return listed(rows, total, page)


@router.post(
    "/import",
    response_model=ImportReport,
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Conflict, PayloadTooLarge, UnsupportedFile, ImportRejected, InvalidInput),
)
async def import_shipment(
    identity: IdentityDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    state: StateDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV or XLSX, one row per sample")],
    proposal: ProposalName,
    profile: Annotated[
        str, Query(max_length=40, description="Column profile: default, exi, or the facility's")
    ] = "default",
    shippingId: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Add to this shipment")] = None,
    shippingName: Annotated[
        str | None, Query(min_length=1, max_length=45, description="Name of the new shipment")
    ] = None,
    dryRun: Annotated[bool, Query(description="Validate and report, write nothing")] = False,
) -> ImportReport:
    """One shipment from one spreadsheet: every row is validated and all problems come back at once (422, with
    row, column, value and message); otherwise all rows are written in one transaction."""
    limit = state.settings.import_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(f"The file is over the {limit}-byte limit of this service")
    report = await shipment_import.import_sheet(
        db,
        identity.scope,
        schema,
        state.settings,
        content=content,
        filename=file.filename or "",
        proposal=proposal,
        profile=profile,
        shipping_id=shippingId,
        shipping_name=shippingName,
        dry_run=dryRun,
        person_id=identity.personId,
    )
    if dryRun:
        response.status_code = status.HTTP_200_OK
    return report


@router.get(
    "/import/template",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(NotFound)},
)
async def get_import_template(
    identity: IdentityDep,
    state: StateDep,
    profile: Annotated[str, Query(max_length=40)] = "default",
    format: SheetFormat = SheetFormat.csv,
) -> Response:
    """An empty sheet with the profile's columns and one example row."""
    if profile not in shipment_import.profiles(state.settings):
        raise NotFound(f"No import profile `{profile}`")
    content, media = shipment_import.template(state.settings, profile, format.value)
    disposition = f'attachment; filename="shipment-template-{profile}.{format.value}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


@router.get("/{shippingId}", response_model=Shipping, responses=responses(NotFound))
async def get_shipping(
    shippingId: Id, identity: IdentityDep, db: ReadSessionDep, include: Include | None = None
) -> dict[str, object]:
    """One shipment; ``?include=contents`` embeds its dewars → containers → samples."""
    # looked up here, not by a validating dependency: FastAPI solves those before it validates ``include``, so a
    # malformed one would answer 404 (after a look-up) instead of 422
    shipment = await shipping_of(db, identity, shippingId)
    if include == Include.contents:
        return shipment | {"Dewar": await shipping.get_contents(db, shipment["shippingId"])}
    return shipment


@router.post(
    "",
    response_model=Shipping,
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Conflict, InvalidInput),
)
async def create_shipping(data: ShippingCreate, identity: IdentityDep, db: WriteSessionDep) -> dict[str, object]:
    """A new shipment: courier (agent, tracking number, shipping date) or hand-carried (who, which day)."""
    return await shipping_of(db, identity, await shipping.create_shipping(db, identity.scope, data))


@router.patch("/{shippingId}", response_model=Shipping, responses=responses(NotFound, Conflict, InvalidInput))
async def update_shipping(
    shippingId: Id, patch: ShippingUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields; the delivery fields must stay complete for the mode."""
    await shipping.update_shipping(db, identity.scope, shippingId, patch)
    return await shipping_of(db, identity, shippingId)


@router.delete("/{shippingId}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(NotFound, Conflict))
async def delete_shipping(shippingId: Id, identity: IdentityDep, db: WriteSessionDep) -> None:
    """Remove an empty shipment with its dewars and containers; 409 while it holds samples."""
    await shipping.delete_shipping(db, identity.scope, shippingId)


@router.get("/{shippingId}/manifest", response_model=None, responses=responses(NotFound))
async def get_manifest(
    shippingId: Id, identity: IdentityDep, db: ReadSessionDep, format: ManifestFormat = ManifestFormat.csv
) -> Response | dict[str, object]:
    """Every dewar, container and sample of the shipment with barcodes and protocols (CSV or JSON)."""
    rows = await shipping.get_manifest(db, identity.scope, shippingId)
    if format == ManifestFormat.json:
        return {"shippingId": shippingId, "rows": rows}
    header = list(rows[0]) if rows else ["dewar"]
    content = csv_bytes(header, [list(r.values()) for r in rows])
    disposition = f'attachment; filename="shipment-{shippingId}-manifest.csv"'
    return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})


@router.get("/{shippingId}/results", response_class=StreamingResponse, responses=responses(NotFound, *DOCUMENT_STORE))
async def export_results(
    shippingId: Id,
    identity: IdentityDep,
    db: StreamingReadSessionDep,
    documents: DocumentsDep,
    format: exports.ExportFormat = exports.ExportFormat.csv,
) -> StreamingResponse:
    """Per sample and data collection: the best MX statistics and the latest result of each kind (streamed)."""
    rows = exports.export_rows(db, documents, identity, shipping_id=shippingId)
    return await exports.export_response(rows, format, f"shipment-{shippingId}-results")
