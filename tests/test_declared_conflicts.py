"""A route declares 409 when what it calls may answer 409: a ``Conflict`` raised, or a flush the database may
refuse (``flush_or_conflict``), anywhere down its calls through services and data access."""

import ast
from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PLACES = ("relational", "app/services", "app/routers")


def _module(file: Path) -> str:
    return ".".join(file.relative_to(ROOT).with_suffix("").parts)


def _names(tree: ast.Module, module: str) -> dict[str, str]:
    """What a module's own and imported names stand for (``shipping`` → ``relational.shipping``)."""
    names = {n.name: f"{module}.{n.name}" for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _calls(function: ast.AST, names: dict[str, str]) -> set[str]:
    """The functions a function calls (``f(…)`` or ``module.f(…)``), by their qualified names."""
    found = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in names:
            found.add(names[node.func.id])
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if node.func.value.id in names:
                found.add(f"{names[node.func.value.id]}.{node.func.attr}")
    return found


def _may_conflict() -> set[str]:
    """Qualified names of every function that may raise ``Conflict``, directly or through what it calls."""
    calls: dict[str, set[str]] = {}
    conflicting: set[str] = set()
    for place in PLACES:
        for file in sorted((ROOT / place).rglob("*.py")):
            tree, module = ast.parse(file.read_text()), _module(file)
            names = _names(tree, module)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{module}.{node.name}"
                    calls[name] = _calls(node, names)
                    if any(isinstance(n, ast.Raise) and "Conflict(" in ast.unparse(n) for n in ast.walk(node)):
                        conflicting.add(name)
    while grown := {f for f, called in calls.items() if f not in conflicting and called & conflicting}:
        conflicting |= grown
    return conflicting


def test_the_search_sees_conflicts() -> None:
    found = _may_conflict()
    assert {"relational.reach.flush_or_conflict", "relational.containers.create_container"} <= found
    assert "app.routers.containers.create_container" in found
    assert "relational.shipping.get_shippings" not in found


def test_routes_that_may_conflict_declare_409() -> None:
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    app = create_app(settings)
    spec = app.openapi()
    conflicting = _may_conflict()
    routes = [(c.path or "", c.original_route) for c in iter_route_contexts(app.routes)]
    endpoints = [(path, r) for path, r in routes if isinstance(r, APIRoute)]
    reaching = [(path, r) for path, r in endpoints if f"{r.endpoint.__module__}.{r.endpoint.__name__}" in conflicting]
    assert len(reaching) > 15
    undeclared = [
        f"{method} {path}"
        for path, route in reaching
        for method in sorted(route.methods or ())
        if "409" not in spec["paths"][path][method.lower()]["responses"]
    ]
    assert undeclared == []
