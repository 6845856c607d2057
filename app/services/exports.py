"""Best results and results exports, over SQL auto-processing and document results alike."""

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from enum import StrEnum
from typing import IO, Any

from anyio import to_thread
from fastapi.responses import StreamingResponse
from openpyxl import Workbook

from app.deps import Identity
from app.services.query import peeked
from app.services.spreadsheets import XLSX, csv_line, xlsx_row
from documents import results
from documents.store import DocumentStore, StoreUnavailable
from relational import best_processing, shipping
from relational.reach import proposal_id_by_name
from relational.read_sessions import ReadSession
from schemas.best_result import BestResult, Candidate, choose, from_document, space_group_number
from schemas.errors import NotFound

BATCH = 500
COLUMNS = ["proposal", "shipment", "dewar", "container", "position", "sample", "protein", "dataCollectionId",
           "startTime", "bestSource", "bestProgram", "spaceGroup", "resolution", "innerShellRMerge", "reason",
           "latestResults"]  # fmt: skip


async def _latest(store: DocumentStore, dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The latest results of each collection; none while the document store does not answer."""
    try:
        return await results.latest_for_collections(store.db, dc_ids)
    except StoreUnavailable:
        return {}


async def best_results(
    db: ReadSession, store: DocumentStore, dc_ids: Sequence[int], latest: dict[int, list[dict[str, Any]]] | None = None
) -> dict[int, BestResult]:
    """The best MX processing of each (already scoped) collection; documents count while the store answers
    (``latest``: the collections' latest results, if already read)."""
    sql = await best_processing.mx_candidates(db, dc_ids)
    docs = await _latest(store, dc_ids) if latest is None else latest
    out = {}
    for dc in dc_ids:
        candidates = [
            Candidate(
                source="sql",
                id=str(c["program_id"]),
                program=c["program"],
                spaceGroup=c["spaceGroup"],
                spaceGroupNumber=space_group_number(c["spaceGroup"]),
                innerShellRMerge=c["innerShellRMerge"],
                resolution=c["resolution"],
            )
            for c in sql.get(dc, [])
        ]
        candidates += [from_document(d) for d in docs.get(dc, []) if d["kind"].startswith("mx.")]
        out[dc] = choose(dc, candidates)
    return out


async def export_rows(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    *,
    shipping_id: int | None = None,
    proposal: str | None = None,
) -> AsyncIterator[list[Any]]:
    """One row per sample and data collection (a sample without collections gets one row), batch by batch."""
    proposal_id = await proposal_id_by_name(db, identity.scope, proposal) if proposal else None
    if shipping_id is not None and not await shipping.visible(db, identity.scope, shipping_id):
        raise NotFound(f"Shipment {shipping_id} not found")
    async for batch in shipping.sample_collections(db, identity.scope, shipping_id, proposal_id, BATCH):
        dcs = [r["dataCollectionId"] for r in batch if r["dataCollectionId"] is not None]
        latest = await _latest(store, dcs)
        best = await best_results(db, store, dcs, latest)
        for r in batch:
            choice = best.get(r["dataCollectionId"])
            top = choice.best if choice else None
            kinds = sorted(
                {f"{d['kind']}:{d['program']['name']}:{d['status']}" for d in latest.get(r["dataCollectionId"], [])}
            )
            yield [
                r["proposal"], r["shippingName"], r["dewar"], r["container"], r["location"], r["sample"], r["acronym"],
                r["dataCollectionId"], r["startTime"], top.source if top else None, top.program if top else None,
                top.spaceGroup if top else None, top.resolution if top else None,
                top.innerShellRMerge if top else None, choice.reason if choice else None, "; ".join(kinds),
            ]  # fmt: skip


def encode(rows: AsyncIterator[list[Any]], kind: str) -> AsyncIterator[bytes]:
    """The rows as CSV or NDJSON, as they come."""

    async def lines() -> AsyncIterator[bytes]:
        if kind == "csv":
            yield csv_line(COLUMNS)
        async for row in rows:
            if kind == "csv":
                yield csv_line(row)
            else:
                yield json.dumps(dict(zip(COLUMNS, row, strict=True)), default=str).encode() + b"\n"

    return lines()


async def xlsx_file(rows: AsyncIterator[list[Any]]) -> IO[bytes]:
    """The rows in a workbook (openpyxl write-only, which spools rows to a temporary file of its own), saved in
    a worker thread to an anonymous temporary file, rewound. Nothing stays in the temporary folder: saving is
    how openpyxl removes its spool, so the workbook is saved (and dropped) when the rows fail too."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Results")
    out = tempfile.TemporaryFile()
    complete = False
    try:
        sheet.append(xlsx_row(sheet, COLUMNS))
        async for row in rows:
            sheet.append(xlsx_row(sheet, row))
        complete = True
    finally:
        await to_thread.run_sync(book.save, out)
        if not complete:
            out.close()
    out.seek(0)
    return out


async def file_chunks(file: IO[bytes], size: int = 1 << 16) -> AsyncIterator[bytes]:
    """A file's bytes in chunks; the file is closed afterwards."""
    with file:
        while chunk := file.read(size):
            yield chunk


class ExportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    xlsx = "xlsx"


async def export_response(rows: AsyncIterator[list[Any]], kind: ExportFormat, name: str) -> StreamingResponse:
    """CSV and NDJSON stream as rows come; XLSX is written row by row to a temporary file, then streamed."""
    media = {"csv": "text/csv", "ndjson": "application/x-ndjson", "xlsx": XLSX}[kind.value]
    headers = {"Content-Disposition": f'attachment; filename="{name}.{kind.value}"'}
    if kind == ExportFormat.xlsx:
        return StreamingResponse(file_chunks(await xlsx_file(rows)), media_type=media, headers=headers)
    return StreamingResponse(encode(await peeked(rows), kind.value), media_type=media, headers=headers)
