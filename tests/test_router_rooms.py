"""Routers are thin (docs/architecture.md): what joins the two stores is a service's, so no router imports the data
access of both (``relational`` and ``documents``). The validating dependencies (``routers/valid.py``) each read
one store, and are the one exception."""

import ast
from pathlib import Path

ROUTERS = Path(__file__).resolve().parents[1] / "app" / "routers"
#: one dependency per object: each reads one store (a result's reach comes from app.deps, as everywhere)
EXEMPT = {"valid.py"}
#: what a router may take from a store without querying it: its errors and its answer types
NOT_DATA_ACCESS = {"documents.store", "documents.metric_stats", "relational.common"}


def _stores(file: Path) -> set[str]:
    """The stores whose data access a module imports."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        modules += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for module in modules:
            if module.split(".")[0] in ("relational", "documents") and module not in NOT_DATA_ACCESS:
                found.add(module.split(".")[0])
    return found


def test_no_router_joins_the_stores() -> None:
    files = sorted(f for f in ROUTERS.rglob("*.py") if f.name not in EXEMPT)
    assert len(files) > 15
    assert {"relational", "documents"} <= {s for f in files for s in _stores(f)}  # the check sees imports
    both = [f.name for f in files if _stores(f) == {"relational", "documents"}]
    assert both == []


def test_files_touch_no_store() -> None:
    """``app/files`` is the file system's room: a route reads the stored path from a store and hands it over."""
    files = sorted((ROUTERS.parent / "files").rglob("*.py"))
    assert len(files) >= 3
    assert {f.name: _stores(f) for f in files} == {f.name: set() for f in files}
