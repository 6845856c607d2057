"""What a GraphQL query may ask for, checked before it runs, and how long it may run.

Before parsing: the document's size (``MAX_QUERY_CHARS``) and tokens (``MAX_TOKENS``, graphql-core stops parsing
there; it also refuses documents nested too deeply). While validating, one pass per operation (each fragment
weighed once however often it is spread, so repeated spreads cannot make the check itself slow; a fragment cycle
weighs nothing here and is refused by GraphQL's own rule): depth (``settings.graphql_max_depth``: fields with a
selection as a reader counts them, so a Relay connection is one level, its ``edges`` and ``node`` none (else
the default 10 would allow three nested connections); introspection's ``__schema`` and ``__type`` not counted:
graphql-core's own rule bounds their nesting), cost (``settings.graphql_max_cost``: the objects the query may
return, each page size multiplied down the nesting, ``DEFAULT_PAGE`` where ``first`` is not given or a list has
no ``first``, ``_entities`` one per representation; a single object counts one, a connection's edges and nodes
nothing beyond its page; a selection written twice counts twice, as a fragment spread many times counts each
time), aliases (``MAX_ALIASES``) and introspections (``MAX_INTROSPECTIONS``). While running:
``settings.graphql_timeout``, after which the query is cancelled. Introspection is refused when
``settings.graphql_introspection`` is false.

Persisted queries (Apollo's automatic persisted queries): a request may send ``extensions.persistedQuery
{version: 1, sha256Hash}`` with or without its query; the query is kept in a per-process cache bounded by
``APQ_CACHE_CHARS`` (least recently used first out), so each worker learns a query once.

Every refusal is a GraphQL error naming the limit, with ``extensions.code``.
"""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from app.settings import Settings

MAX_QUERY_CHARS = 100_000
MAX_TOKENS = 10_000
MAX_ALIASES = 200
#: ``__schema``, ``__type`` and federation's ``_service`` selections an operation may hold: they are resolved
#: without yielding to the event loop (no time limit stops them), 50 ms and 66 kB for a whole ``__schema``, 6 ms
#: and 30 kB for ``_service { sdl }``
MAX_INTROSPECTIONS = 5
INTROSPECTIONS = ("__schema", "__type", "_service")
#: objects a page holds when ``first`` is not given (REST's default ``limit``), and an unpaged list's guess
DEFAULT_PAGE = 25
APQ_CACHE_CHARS = 10_000_000
#: Relay's wrapper types: their edges and nodes are the objects their connection's page already counts
WRAPPERS = ("Connection", "Edge")


def refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


@dataclass(frozen=True)
class Weight:
    """What a selection asks for: its depth, its cost at one parent object, its aliases and its introspections."""

    depth: int = 0
    cost: int = 0
    aliases: int = 0
    introspections: int = 0

    def __add__(self, other: "Weight") -> "Weight":
        return Weight(
            max(self.depth, other.depth),
            self.cost + other.cost,
            self.aliases + other.aliases,
            self.introspections + other.introspections,
        )


class Scales:
    """Weighs an operation's selections against the schema (fragments once each, by name)."""

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.weighed: dict[str, Weight] = {}
        self.weighing: set[str] = set()

    def selection(self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode | None) -> Weight:
        total = Weight()
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += self.field(parent, node)
            elif isinstance(node, InlineFragmentNode):
                condition = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += self.selection(condition, node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value)
        return total

    def fragment(self, name: str) -> Weight:
        if name in self.weighed:
            return self.weighed[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.weighing:  # unknown or a cycle: GraphQL's own rules refuse both
            return Weight()
        self.weighing.add(name)
        weight = self.selection(self.schema.get_type(definition.type_condition.name.value), definition.selection_set)
        self.weighing.discard(name)
        self.weighed[name] = weight
        return weight

    def field(self, parent: GraphQLNamedType | None, node: FieldNode) -> Weight:
        alias = 1 if node.alias else 0
        name = node.name.value
        if name in INTROSPECTIONS:
            return Weight(aliases=alias, introspections=1)
        if name.startswith("__") or node.selection_set is None:
            return Weight(aliases=alias)
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(name)
        if definition is None:  # not in the schema: GraphQL's own rules refuse it
            return Weight(aliases=alias)
        page = self.page(parent, node, definition)
        inner = self.selection(get_named_type(definition.type), node.selection_set)
        wrapper = int(parent is not None and parent.name.endswith(WRAPPERS))  # a connection's edges, an edge's node
        depth, cost = 1 - wrapper + inner.depth, page * (1 - wrapper + inner.cost)
        return Weight(depth, cost, alias + inner.aliases, inner.introspections)

    def page(self, parent: GraphQLNamedType | None, node: FieldNode, definition: Any) -> int:
        """How many objects the field may return per parent object (``_entities``: one per representation)."""
        if "representations" in definition.args:
            given = next((a.value for a in node.arguments or () if a.name.value == "representations"), None)
            if isinstance(given, ListValueNode):
                return len(given.values)
            listed = self.variables.get(given.name.value) if isinstance(given, VariableNode) else None
            return len(listed) if isinstance(listed, list) else 1
        if "first" in definition.args:
            given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
            if isinstance(given, IntValueNode):
                value: Any = int(given.value)
            elif isinstance(given, VariableNode):
                value = self.variables.get(given.name.value)
            else:
                value = definition.args["first"].default_value
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else DEFAULT_PAGE
        in_connection = isinstance(parent, GraphQLObjectType) and parent.name.endswith(WRAPPERS)
        listed = isinstance(get_nullable_type(definition.type), GraphQLList)
        return DEFAULT_PAGE if listed and not in_connection else 1


def budget_rule(settings: Settings, variables: Mapping[str, Any], operation: str | None) -> type[ValidationRule]:
    """The validation rule refusing an operation over the depth, cost or alias limits, and a document of several
    operations without ``operationName`` (strawberry would run the first)."""

    class Budget(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }

        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in node.definitions)
            if operation is None and operations > 1:
                message = f"The query holds {operations} operations: name the one to run in `operationName`"
                self.report_error(refusal(message, "OPERATION_NAME_REQUIRED"))

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            defaults = {  # a variable left out takes its default: `query($n: Int = 10000)` asks for 10,000
                d.variable.name.value: value_from_ast_untyped(d.default_value)
                for d in node.variable_definitions or ()
                if d.default_value is not None
            }
            scales = Scales(self.context.schema, self.fragments, defaults | dict(variables))
            weight = scales.selection(self.context.schema.get_root_type(node.operation), node.selection_set)
            name = f"`{node.name.value}`" if node.name else "The query"
            if weight.depth > settings.graphql_max_depth:
                message = f"{name} is {weight.depth} levels deep, over the limit of {settings.graphql_max_depth}"
                self.report_error(refusal(f"{message} (graphql_max_depth)", "MAX_DEPTH"))
            if weight.cost > settings.graphql_max_cost:
                cost = weight.cost if weight.cost < 10**15 else "more than 10^15"
                message = (
                    f"{name} may return {cost} objects, over the cost limit of {settings.graphql_max_cost} "
                    f"(graphql_max_cost): each page size (`first`, {DEFAULT_PAGE} when not given) counts, "
                    "multiplied down nested lists; ask for smaller pages"
                )
                self.report_error(refusal(message, "MAX_COST"))
            if weight.aliases > MAX_ALIASES:
                message = f"{name} has {weight.aliases} aliases, over the limit of {MAX_ALIASES}"
                self.report_error(refusal(message, "MAX_ALIASES"))
            if weight.introspections > MAX_INTROSPECTIONS:
                message = (
                    f"{name} asks for the schema {weight.introspections} times (`__schema`, `__type`, `_service`), "
                    f"over the limit of {MAX_INTROSPECTIONS}"
                )
                self.report_error(refusal(message, "MAX_INTROSPECTIONS"))

    return Budget


class PersistedQueries:
    """Apollo's automatic persisted queries: sha256 → query, least recently used out beyond ``max_chars``."""

    def __init__(self, max_chars: int = APQ_CACHE_CHARS) -> None:
        self.max_chars = max_chars
        self.queries: OrderedDict[str, str] = OrderedDict()
        self.chars = 0

    def resolve(self, query: str | None, persisted: Any) -> str | None:
        """The query to run: the cached one for a hash alone, or ``query`` (checked against its hash, then kept)."""
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise refusal("persistedQuery: only version 1 is supported", "PERSISTED_QUERY_NOT_SUPPORTED")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise refusal("persistedQuery.sha256Hash must be 64 hexadecimal characters", "BAD_PERSISTED_QUERY")
        if query is None:
            known = self.queries.get(digest)
            if known is None:
                raise refusal("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            self.queries.move_to_end(digest)
            return known
        if hashlib.sha256(query.encode()).hexdigest() != digest.lower():
            raise refusal("persistedQuery.sha256Hash is not the sha256 of the query", "BAD_PERSISTED_QUERY")
        self.keep(digest.lower(), query)
        return query

    def keep(self, digest: str, query: str) -> None:
        if digest in self.queries:
            self.queries.move_to_end(digest)
            return
        self.queries[digest] = query
        self.chars += len(query)
        while self.chars > self.max_chars:
            _, dropped = self.queries.popitem(last=False)
            self.chars -= len(dropped)


class Limits(SchemaExtension):
    """One request's limits (a new instance per request: see ``extensions``)."""

    def __init__(self, settings: Settings, persisted: PersistedQueries) -> None:
        self.settings, self.persisted = settings, persisted

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        extensions = context.operation_extensions or {}
        if "persistedQuery" in extensions:
            context.query = self.persisted.resolve(context.query, extensions["persistedQuery"])
        if context.query is not None and len(context.query) > MAX_QUERY_CHARS:
            message = f"The query is {len(context.query)} characters long, over the limit of {MAX_QUERY_CHARS}"
            raise refusal(message, "QUERY_TOO_LARGE")
        context.parse_options["max_tokens"] = MAX_TOKENS
        rules = [budget_rule(self.settings, context.variables or {}, context.operation_name)]
        if not self.settings.graphql_introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        context.validation_rules = (*context.validation_rules, *rules)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        seconds = self.settings.graphql_timeout
        try:
            async with asyncio.timeout(seconds):
                yield
        except TimeoutError:
            message = f"The query ran over the time limit of {seconds:g} s (graphql_timeout) and was stopped"
            raise refusal(message, "TIMEOUT") from None


def extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The schema's extensions enforcing the limits: factories, so each request gets its own instance."""
    persisted = PersistedQueries()
    return [lambda: Limits(settings, persisted)]
