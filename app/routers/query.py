"""Ad-hoc queries on the document collections, with the caller's scope injected (documents/query.py)."""

from typing import Annotated

from fastapi import Query
from fastapi.responses import StreamingResponse

from app.deps import DocumentsDep, IdentityDep, ReadSessionDep, StateDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.routing import Router
from app.services.query import AggregateQuery, FindQuery, Output, run, stream
from schemas.errors import InvalidInput

router = Router(prefix="/query", tags=["Query"], responses=responses(*AUTHENTICATED, *DOCUMENT_STORE))


@router.post("/find", response_class=StreamingResponse, responses=responses(InvalidInput))
async def find(
    spec: FindQuery,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    format: Output = Output.json,
) -> StreamingResponse:
    """`find` on results, metrics or rollups within the caller's proposals; refused operators answer 422."""
    return stream(await run(spec, db, identity.scope, documents, state.settings), format)


@router.post("/aggregate", response_class=StreamingResponse, responses=responses(InvalidInput))
async def aggregate(
    spec: AggregateQuery,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    format: Annotated[Output, Query()] = Output.json,
) -> StreamingResponse:
    """An aggregation pipeline from the allowed stages; the caller's scope is the first `$match` of every read of a
    collection at any depth (the pipeline, each `$lookup` and `$unionWith`); `$graphLookup` is refused."""
    return stream(await run(spec, db, identity.scope, documents, state.settings), format)
