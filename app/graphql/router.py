"""``POST /graphql``: the GraphQL read API, authenticated as REST is; ``GET /graphql``: GraphiQL, in dev and
embedded mode only. Queries only (no mutations, no subscriptions, nothing over GET)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.deps import DocumentsDep, IdentityDep, ReadSessionDep, StateDep
from app.graphql.context import Context
from app.graphql.schema import Schema, build_schema
from app.problems import AUTHENTICATED, responses
from app.settings import Settings
from schemas.errors import InvalidInput, NotFound

router = APIRouter(prefix="/graphql", tags=["GraphQL"])


class GraphQLRequest(BaseModel):
    """A GraphQL-over-HTTP request body."""

    query: str | None = Field(None, description="The query; may be left out for a persisted query's hash alone")
    variables: dict[str, Any] | None = None
    operationName: str | None = Field(None, max_length=1000)
    extensions: dict[str, Any] | None = Field(None, description="`persistedQuery {version, sha256Hash}`")


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = Field(None, description="Each with its message, path and locations")


def schema_of(request: Request, settings: Settings) -> Schema:
    """The app's schema, built from its settings on first use (one per app, shared by its requests)."""
    schema: Schema | None = getattr(request.app.state, "graphql_schema", None)
    if schema is None:
        schema = request.app.state.graphql_schema = build_schema(settings)
    return schema


@router.post(
    "",
    response_model=GraphQLResponse,
    responses=responses(*AUTHENTICATED, InvalidInput),
)
async def graphql(
    body: GraphQLRequest,
    request: Request,
    identity: IdentityDep,
    db: ReadSessionDep,
    documents: DocumentsDep,
    state: StateDep,
) -> JSONResponse:
    """Run a GraphQL query (see the schema through introspection or GraphiQL). Objects out of the caller's reach
    are null with an error at their path; lists hold only what the caller reaches."""
    if body.query is None and not (body.extensions or {}).get("persistedQuery"):
        raise InvalidInput("`query` is required (or `extensions.persistedQuery` for a persisted query)")
    graphql_schema = schema_of(request, state.settings)
    try:
        result = await graphql_schema.execute(
            body.query,
            variable_values=body.variables,
            context_value=Context(identity, db, documents, state),
            operation_name=body.operationName,
            allowed_operation_types={OperationType.QUERY},
            operation_extensions=body.extensions,
        )
    except InvalidOperationTypeError as exc:
        raise InvalidInput(f"Only queries are served, not a {exc.operation_type.value}") from None
    except CannotGetOperationTypeError:
        raise InvalidInput(f"No operation named `{body.operationName}` in the query") from None
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return JSONResponse(answer)


@router.get("", response_class=HTMLResponse, include_in_schema=False, responses=responses(NotFound))
async def graphiql(state: StateDep) -> HTMLResponse:
    """GraphiQL, to explore the schema (set the Authorization header in its headers pane)."""
    if state.settings.mode not in ("dev", "embedded"):
        raise NotFound("GraphiQL is served in dev and embedded mode only")
    return HTMLResponse(get_graphql_ide_html("graphiql"))
