"""The layering rules of docs/architecture.md, checked on the source tree."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_BUT_UNITS_OF_WORK = [p for p in (ROOT / "app").rglob("*.py") if p.name != "deps.py" and "cli" not in p.parts]
RULES = [
    # (rule, import or call pattern, places where it is refused)
    ("lower floors never import app", r"^\s*(from|import) app\b", ("relational", "documents", "schemas")),
    ("schemas is the lowest floor", r"^\s*(from|import) (relational|documents)\b", ("schemas",)),
    ("the two stores' data access stay apart", r"^\s*(from|import) documents\b", ("relational",)),
    ("the two stores' data access stay apart", r"^\s*(from|import) relational\b", ("documents",)),
    ("no pymongo outside documents/", r"^\s*(from|import) (pymongo|motor)\b", ("app", "relational", "schemas")),
    ("no SQLAlchemy outside relational/", r"^\s*(from|import) sqlalchemy\b", ("app", "documents", "schemas")),
    ("SecantusDB is a process, never imported", r"^\s*(from|import) secantus", ("app", "relational", "documents")),
    ("only the request dependency and the CLI commit", r"\.commit\(\)", ("relational", "documents", "schemas")),
    ("only the request dependency and the CLI commit", r"\.commit\(\)", APP_BUT_UNITS_OF_WORK),
]


def _files(places: tuple[str, ...] | list[Path]) -> list[Path]:
    found: list[Path] = []
    for place in places:
        path = place if isinstance(place, Path) else ROOT / place
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


@pytest.mark.parametrize(("rule", "pattern", "places"), RULES, ids=[f"{r[0]}:{r[1]}" for r in RULES])
def test_layering(rule: str, pattern: str, places: tuple[str, ...] | list[Path]) -> None:
    offenders = [
        f"{file.relative_to(ROOT)}:{number}: {line.strip()}"
        for file in _files(places)
        for number, line in enumerate(file.read_text().splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert offenders == [], rule


def test_rules_see_the_tree() -> None:
    """The rules above look at real files (a moved folder would make them pass on nothing)."""
    for place in ("app/routers", "app/services", "app/cli", "relational", "documents", "schemas"):
        assert _files((place,)), place
    assert len(APP_BUT_UNITS_OF_WORK) > 20
