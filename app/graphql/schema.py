"""The GraphQL schema, an Apollo Federation v2 subgraph keyed on ISPyB's ids, built once per app from settings."""

import inspect
from copy import copy
from typing import Any, Literal

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.federation.schema import FederationAny
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from app.graphql import limits
from app.graphql.document_edges import DocumentQuery
from app.graphql.query import RelationalQuery
from app.settings import Settings
from schemas.errors import DomainError, InvalidInput


def expected(error: GraphQLError) -> bool:
    """An error the service gives on purpose (GraphQL's own checks, a DomainError such as not found); anything
    else is a fault whose text may hold internals: it is logged and its message masked."""
    return error.original_error is None or isinstance(error.original_error, (DomainError, GraphQLError))


class Schema(strawberry.federation.Schema):
    """Federation's schema, logging only unexpected errors (a "not found" at a path is an answer, not a fault)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        super().process_errors([e for e in errors if not expected(e)], execution_context)

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Federation's ``_entities``, each representation checked first: one that is not an object naming an
        entity of this subgraph with its key alone is an error at its index (strawberry's resolver raised on it,
        a fault that nulled the whole list, or built a non-entity type from the client's values)."""
        resolve = super().entities_resolver
        return [
            FederationAny(refused) if (refused := self._refusal(r)) else resolve(info, [copy(r)])[0]
            for r in representations
        ]

    def _refusal(self, representation: Any) -> InvalidInput | None:
        if not isinstance(representation, dict) or not isinstance(representation.get("__typename"), str):
            return InvalidInput("A representation is an object with its `__typename` and key")
        name = representation["__typename"]
        found = self.schema_converter.type_map.get(name)
        resolve = getattr(getattr(found and found.definition, "origin", None), "resolve_reference", None)
        if resolve is None:
            return InvalidInput(f"`{name[:60]}` is not an entity of this subgraph")
        key = set(inspect.signature(resolve).parameters) - {"info"}
        if set(representation) - {"__typename"} != key:
            return InvalidInput(f"A `{name}` representation holds its key, {', '.join(sorted(key))}, and no more")
        return None


#: Apollo Federation v2.5 (keys, shareable, …): composed by Apollo Router 1.x and 2.x, Hive Gateway, Cosmo
FEDERATION_VERSION: Literal["2.5"] = "2.5"
#: the root fields: the relational core's and the documents'
Query = merge_types("Query", (RelationalQuery, DocumentQuery))


def _masked() -> MaskErrors:
    return MaskErrors(should_mask_error=lambda error: not expected(error))


def build_schema(settings: Settings) -> Schema:
    """The schema the app serves, with the limits the settings set (depth, cost, timeout, introspection)."""
    return Schema(
        query=Query, federation_version=FEDERATION_VERSION, extensions=[*limits.extensions(settings), _masked]
    )
