"""Errors at the bottom: every ``DomainError`` is defined below ``app/`` (in ``schemas/errors.py``, or beside the
store it is about: ``relational/db.py``, ``documents/store.py``), so any floor can raise it and a route can declare
it without importing another room of ``app/``."""

import importlib
import pkgutil

import app
from app.json_guard import JsonRefused
from schemas.errors import DomainError

#: also Starlette's HTTPException, which FastAPI's body reading lets through: bound to the web framework, so in app/
WEB_BOUND = {JsonRefused}


def _subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    found: set[type[DomainError]] = set()
    for direct in cls.__subclasses__():
        found |= {direct} | _subclasses(direct)
    return found


def test_domain_errors_are_defined_below_app() -> None:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    in_app = {
        f"{c.__module__}.{c.__qualname__}"
        for c in _subclasses(DomainError) - WEB_BOUND
        if c.__module__.split(".")[0] == "app"
    }
    assert in_app == set()
