"""Statements built once per shape and run with each request's values.

Building a SELECT costs more than MariaDB answering a primary-key read, and SQLAlchemy keeps a statement object's
compiled SQL, so the hot reads build theirs once: a builder takes only what shapes the statement (the caller's
``Scope``, the ``SchemaInfo``, which filters are given) and names each request value as a bind parameter, which
the caller passes at execution. The caller's scope is part of the key, never a parameter: a statement holds one
caller's reach, so no execution can run it with another's by leaving a value out.
"""

from collections.abc import Callable
from functools import lru_cache
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: statements kept per builder: shapes × callers active at once
SIZE = 1024


def built_once(builder: Callable[P, T]) -> Callable[P, T]:
    """``builder`` memoized on its (hashable) arguments, ``SIZE`` shapes at most."""
    return lru_cache(maxsize=SIZE)(builder)  # type: ignore[return-value]
