"""``POST /graphql``: the GraphQL read API, authenticated as REST is; ``GET /graphql``: GraphiQL, in dev and
embedded mode only. Queries only (no mutations, no subscriptions, nothing over GET).

The body is read by this route, not by FastAPI: at most ``MAX_BODY_BYTES`` (413 beyond, before anything is
parsed; the query's own limit, ``limits.MAX_QUERY_CHARS``, leaves room for its variables), then checked as every
JSON body is (``app.json_guard``: nesting, lone surrogates), then validated as ``GraphQLRequest``."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import GraphQLError
from pydantic import BaseModel, Field, ValidationError
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.deps import DocumentsDep, IdentityDep, ReadSessionDep, StateDep
from app.graphql.context import Context
from app.graphql.schema import Schema, build_schema
from app.json_guard import JsonRefused, refused
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from app.settings import Settings
from schemas.errors import InvalidInput, NotFound, PayloadTooLarge

router = Router(prefix="/graphql", tags=["GraphQL"])
#: bytes a request body may hold: ten times the longest query, for its variables
MAX_BODY_BYTES = 1_000_000
#: characters of an error message shown (graphql-core repeats a variable's invalid value in its message)
MAX_MESSAGE_CHARS = 500
JSON_TYPES = (b"application/json", b"application/graphql-response+json")


class GraphQLRequest(BaseModel):
    """A GraphQL-over-HTTP request body."""

    query: str | None = Field(None, description="The query; may be left out for a persisted query's hash alone")
    variables: dict[str, Any] | None = None
    operationName: str | None = Field(None, max_length=1000)
    extensions: dict[str, Any] | None = Field(None, description="`persistedQuery {version, sha256Hash}`")


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = Field(None, description="Each with its message, path and locations")


async def _bounded(request: Request) -> bytes:
    """The body, refused with a 413 as soon as it is known to exceed ``MAX_BODY_BYTES``."""
    too_large = PayloadTooLarge(f"A GraphQL request body may hold at most {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def request_body(request: Request, state: StateDep) -> GraphQLRequest:
    """The request's body: bounded, checked raw as every JSON body is, then validated (422 naming what is wrong)."""
    kind = request.headers.get("content-type", "").encode("latin-1").split(b";")[0].strip().lower()
    if kind and kind not in JSON_TYPES:
        raise InvalidInput("A GraphQL request body is JSON (Content-Type: application/json)")
    raw = await _bounded(request)
    if reason := await refused(raw, state.settings.json_max_depth):
        raise JsonRefused(reason)
    try:
        return GraphQLRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([e | {"loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def schema_of(request: Request, settings: Settings) -> Schema:
    """The app's schema, built from its settings on first use (one per app, shared by its requests)."""
    schema: Schema | None = getattr(request.app.state, "graphql_schema", None)
    if schema is None:
        schema = request.app.state.graphql_schema = build_schema(settings)
    return schema


def formatted(error: GraphQLError) -> dict[str, Any]:
    """An error as the answer lists it, its message cut to ``MAX_MESSAGE_CHARS``."""
    shown = error.formatted
    if len(shown["message"]) > MAX_MESSAGE_CHARS:
        shown["message"] = shown["message"][: MAX_MESSAGE_CHARS - 1] + "…"
    return dict(shown)


@router.post(
    "",
    response_model=GraphQLResponse,
    responses=responses(*AUTHENTICATED, InvalidInput, PayloadTooLarge),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GraphQLRequest.model_json_schema()}},
        }
    },
)
async def graphql(
    identity: IdentityDep,
    body: Annotated[GraphQLRequest, Depends(request_body)],
    request: Request,
    db: ReadSessionDep,
    documents: DocumentsDep,
    state: StateDep,
) -> JSONResponse:
    """Run a GraphQL query (see the schema through introspection or GraphiQL). Objects out of the caller's reach
    are null with an error at their path; lists hold only what the caller reaches."""
    if body.query is None and not (body.extensions or {}).get("persistedQuery"):
        raise InvalidInput("`query` is required (or `extensions.persistedQuery` for a persisted query)")
    graphql_schema = schema_of(request, state.settings)
    context = Context(identity, db, documents, state)
    try:
        result = await graphql_schema.execute(
            body.query,
            variable_values=body.variables,
            context_value=context,
            operation_name=body.operationName,
            allowed_operation_types={OperationType.QUERY},
            operation_extensions=body.extensions,
        )
    except InvalidOperationTypeError as exc:
        raise InvalidInput(f"Only queries are served, not a {exc.operation_type.value}") from None
    except CannotGetOperationTypeError:
        named = "" if body.operationName is None else f" named `{body.operationName}`"
        raise InvalidInput(f"No operation{named} in the query") from None
    except MissingQueryError:  # an empty query, or a persisted one whose hash is the empty text's
        raise InvalidInput("`query` is empty") from None
    finally:
        await context.close()
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [formatted(error) for error in result.errors]
    return JSONResponse(answer)


@router.get("", response_class=HTMLResponse, include_in_schema=False, responses=responses(NotFound))
async def graphiql(state: StateDep) -> HTMLResponse:
    """GraphiQL, to explore the schema (set the Authorization header in its headers pane)."""
    if state.settings.mode not in ("dev", "embedded"):
        raise NotFound("GraphiQL is served in dev and embedded mode only")
    return HTMLResponse(get_graphql_ide_html("graphiql"))
