"""Ad-hoc queries for analysts and notebooks (routes and ``ispyb-hybrid query``): models, scope, output encoding."""

import json
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.settings import Settings
from app.spreadsheets import csv_line
from documents import query
from relational.reach import proposals_reached
from relational.scope import Scope

Collection = Annotated[str, Field(pattern=f"^({'|'.join(query.COLLECTIONS)})$")]


class Output(StrEnum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


class FindQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: Collection
    filter: dict[str, Any] = {}
    projection: dict[str, Any] | None = None
    sort: dict[str, Literal[-1, 1]] | None = None
    skip: int = Field(0, ge=0, le=10_000_000)
    limit: int | None = Field(None, ge=1)


class AggregateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: Collection
    pipeline: list[Any] = Field(max_length=100)


async def document_scope(db: Any, scope: Scope) -> dict[str, Any]:
    """The filter every ad-hoc query starts with: the caller's proposals (none for all_proposals staff)."""
    reached = await proposals_reached(db, scope)
    return {} if reached is None else {"proposalId": {"$in": reached}}


async def run(spec: FindQuery | AggregateQuery, db: Any, scope: Scope, store: Any, settings: Settings) -> Any:
    """The documents of an ad-hoc query (find or aggregate), as an async iterator."""
    limits = (settings.query_max_time_ms, settings.query_max_results)
    docs = await store.ready()
    where = await document_scope(db, scope)
    if isinstance(spec, FindQuery):
        return await peeked(await query.find(docs, spec.collection, spec.model_dump(), where, *limits))
    return await peeked(await query.aggregate(docs, spec.collection, spec.pipeline, where, *limits))


async def peeked(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``items`` with the first one already fetched, so that a refusal surfaces before a response starts."""
    first = await anext(items, None)

    async def chained() -> AsyncIterator[Any]:
        if first is not None:
            yield first
        async for item in items:
            yield item

    return chained()


def stream(documents: AsyncIterator[dict[str, Any]], output: Output) -> StreamingResponse:
    """JSON array, NDJSON or CSV, written as the documents arrive."""
    media = {Output.json: "application/json", Output.ndjson: "application/x-ndjson", Output.csv: "text/csv"}[output]
    return StreamingResponse(encode(documents, output), media_type=media)


async def encode(documents: AsyncIterator[dict[str, Any]], output: Output) -> AsyncIterator[bytes]:
    header: list[str] | None = None
    first = True
    if output == Output.json:
        yield b"["
    async for doc in documents:
        if output == Output.csv:
            if header is None:
                header = list(doc)
                yield csv_line(header)
            yield csv_line([_cell(doc.get(k)) for k in header])
        elif output == Output.ndjson:
            yield json.dumps(doc, default=str).encode() + b"\n"
        else:
            yield (b"" if first else b",") + json.dumps(doc, default=str).encode()
        first = False
    if output == Output.json:
        yield b"]"


def _cell(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else value
