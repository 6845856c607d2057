"""Ad-hoc queries for analysts and notebooks (routes and ``ispyb-hybrid query``): models, scope, output encoding."""

import json
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.deps import document_scope
from app.services.spreadsheets import csv_line
from app.settings import Settings
from documents import query
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
    """The documents as a JSON array, NDJSON, or CSV: the first document's keys as columns, then ``_other``
    holding as JSON the keys of a later document that are not columns, so that nothing is dropped."""
    header: list[str] | None = None
    columns: set[str] = set()
    first = True
    if output == Output.json:
        yield b"["
    async for doc in documents:
        if output == Output.csv:
            if header is None:
                header, columns = list(doc), set(doc)
                yield csv_line([*header, _other_column(columns)])
            rest = {k: v for k, v in doc.items() if k not in columns}
            yield csv_line([_cell(doc.get(k)) for k in header] + [_cell(rest) if rest else None])
        elif output == Output.ndjson:
            yield json.dumps(doc, default=str).encode() + b"\n"
        else:
            yield (b"" if first else b",") + json.dumps(doc, default=str).encode()
        first = False
    if output == Output.json:
        yield b"]"


def _other_column(columns: set[str]) -> str:
    """The name of the CSV column holding a later document's other keys: ``_other``, or more ``_`` if taken."""
    name = "_other"
    while name in columns:
        name = f"_{name}"
    return name


def _cell(value: Any) -> Any:
    """A CSV cell: a document or list as JSON, a stored number as the number it is (not its text)."""
    value = query.plain(value)
    return json.dumps(value, default=str) if isinstance(value, dict | list) else value
