"""The relational core's GraphQL types, one module per stem (fields named as REST and ISPyB name them)."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def field(description: str, name: str | None = None) -> Callable[[F], F]:
    """``strawberry.field`` for a resolver method, typed for mypy (strawberry's own decorator is untyped)."""
    return cast(Callable[[F], F], strawberry.field(name=name, description=description))


def build(cls: type[T], row: dict[str, Any]) -> T:
    """An object of strawberry type ``cls`` from a row: each of its plain fields from the row's key of that name
    (a field a flavour lacks comes as null, as REST shows it)."""
    fields = cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
    return cls(**{f.python_name: row.get(f.python_name) for f in fields if f.base_resolver is None})
