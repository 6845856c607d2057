"""The command line's reads get the read-only session too (docs/architecture.md, rule 3): a command opens a plain
session (``Database.sessions``) only for a unit of work it commits."""

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[1] / "app" / "cli"


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _opens(function: ast.AST, factory: str) -> bool:
    """Whether ``function`` opens a session from ``<database>.<factory>()``."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == factory
        for n in ast.walk(function)
    )


def _commits(function: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "commit"
        for n in ast.walk(function)
    )


def test_plain_sessions_only_for_what_commits() -> None:
    functions = [f for file in sorted(CLI.rglob("*.py")) for f in _functions(ast.parse(file.read_text()))]
    assert any(_opens(f, "read_sessions") for f in functions), "the CLI's reads use read_sessions"
    reading = [f.name for f in functions if _opens(f, "sessions") and not _commits(f)]
    assert reading == []
