"""The relational core's GraphQL types, one module per stem. Each serves the plain fields of REST's answer model of
its object (``schemas/*.py``: one list of fields, with REST's names, types, nullability and descriptions), and adds
the ids of its neighbours (which REST nests as objects) and the edges to them, read through the request's loaders."""

import operator
from collections.abc import Callable, Collection
from enum import Enum
from functools import cache, partial, reduce
from inspect import Parameter, Signature
from types import UnionType
from typing import Any, TypeVar, Union, cast, get_args, get_origin

import strawberry
from pydantic import BaseModel, Field, create_model
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.types.base import StrawberryOptional, has_object_definition
from strawberry.types.unset import UNSET

from app.graphql.connection import Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.loaders import Children, Objects, reference_id
from schemas.errors import InvalidInput

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Info = strawberry.Info[Context, None]
Row = dict[str, Any]

#: REST's model → the model of the fields GraphQL serves of it (what a nested REST model becomes)
_SERVED: dict[type[BaseModel], type[BaseModel]] = {}


def field(description: str, name: str | None = None) -> Callable[[F], F]:
    """``strawberry.field`` for a resolver method, typed for mypy (strawberry's own decorator is untyped)."""
    return cast(Callable[[F], F], strawberry.field(name=name, description=description))


def rest_type(
    model: type[BaseModel],
    *,
    without: Collection[str] = (),
    key: str | None = None,
    loader: Objects | None = None,
    description: str,
) -> Callable[[type[T]], type[T]]:
    """The GraphQL type of REST's ``model``: its fields but ``without`` (what GraphQL serves as edges, and REST's
    ``_metadata``), then those the class declares (its neighbours' ids) and its edges. With ``key``, a federation
    entity keyed on that field, which a router's representation finds through ``loader``.

    A class may declare a field of REST's (an id its edges read) only with REST's type."""
    unknown = set(without) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
    fields: dict[str, Any] = {  # each named as REST names it (an alias keeps strawberry from camel-casing `cell_a`)
        name: (_served(f.annotation), Field(alias=name, description=f.description))
        for name, f in model.model_fields.items()
        if name not in without
    }
    served = create_model(model.__name__, **fields)
    _SERVED[model] = served
    directives = [] if key is None else [Key(fields=FieldSet(key), resolvable=UNSET)]
    derive = strawberry.experimental.pydantic.type(
        served, all_fields=True, description=description, directives=directives
    )

    def wrap(cls: type[T]) -> type[T]:
        for name, declared in vars(cls).get("__annotations__", {}).items():
            rest = served.model_fields.get(name)
            if rest is not None and declared != rest.annotation:
                raise TypeError(f"{cls.__name__}.{name} is declared {declared}, REST's is {rest.annotation}")
        kind = cast(type[T], derive(cls))
        kind.__module__ = cls.__module__  # strawberry remakes the class where its forward references are not seen
        if key is not None:
            assert loader is not None, f"{cls.__name__}: a key needs the loader its representations are read by"
            kind.resolve_reference = _reference(kind, key, loader)  # type: ignore[attr-defined]
        return kind

    return wrap


def _served(annotation: Any) -> Any:
    """REST's annotation as GraphQL serves it: a nested REST model as the model served of it, a string enum as its
    value (as REST's JSON holds it)."""
    if get_origin(annotation) in (Union, UnionType):
        return reduce(operator.or_, map(_served, get_args(annotation)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _SERVED[annotation]
    if isinstance(annotation, type) and issubclass(annotation, str) and issubclass(annotation, Enum):
        return str
    return annotation


def _reference(kind: type[T], key: str, loader: Objects) -> Callable[..., Any]:
    """Federation's ``resolve_reference`` of ``kind``, called as its signature says, ``(info, <key>)``: a
    representation holds ``key`` alone (an id, or its digits); the object out of reach is null."""

    async def resolve_reference(info: Info, **representation: object) -> T | None:
        if set(representation) != {key}:
            raise InvalidInput(f"a {kind.__name__} representation holds `{key}` and nothing else")
        return await one(info, loader, reference_id(representation[key], key), kind)

    named = [Parameter(name, Parameter.POSITIONAL_OR_KEYWORD) for name in ("info", key)]
    resolve_reference.__signature__ = Signature(named)  # type: ignore[attr-defined]
    return resolve_reference


def build(cls: type[T], row: Row) -> T:
    """An object of strawberry type ``cls`` from a row: each of its plain fields from the row's key of that name (a
    field a flavour lacks comes as null, as REST shows it; a nested row as an object of the field's type)."""
    values = {}
    for name, nested in _plain_fields(cast(type, cls)):
        value = row.get(name)
        values[name] = build(nested, value) if nested is not None and isinstance(value, dict) else value
    return cls(**values)


@cache
def _plain_fields(cls: type) -> tuple[tuple[str, type | None], ...]:
    """``cls``'s fields without a resolver, each with its object type if it nests one (read once per type)."""
    plain = []
    for f in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if f.base_resolver is None:
            inner = f.type.of_type if isinstance(f.type, StrawberryOptional) else f.type
            plain.append((f.python_name, inner if has_object_definition(inner) else None))
    return tuple(plain)


async def one(info: Info, loader: Objects, key: int | None, kind: type[T]) -> T | None:
    """The object of ``kind`` with id ``key``, through the request's ``loader`` (None: absent or out of reach)."""
    row = await loader.one(info.context, key)
    return None if row is None else build(kind, row)


async def children(
    info: Info, edge: Children, parent: int, kind: type[T], first: int, after: str | None
) -> Connection[T]:
    """The page ``first``/``after`` of ``parent``'s children of ``kind`` along ``edge``, as a connection."""
    page = page_of(first, after)
    found = await edge.page(info.context, parent, page)
    return connection(found.total, found.rows, page, partial(build, kind))
