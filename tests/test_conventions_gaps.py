"""What tests/test_conventions.py leaves open, checked the same way: schemas/ builds no Mongo query either, code above
relational/ neither runs SQL through a session's other read calls nor uses the ORM's models, and nothing opens a
transaction that commits on its own (``begin()``) outside the units of work."""

import ast
import re
from pathlib import Path

import pytest

from tests.test_conventions import APP_BUT_UNITS_OF_WORK, ROOT, _files, _mongo_in_code

SCALARS = r"\.(scalars?|stream_scalars)\("
MODELS = r"^\s*(from|import) relational\.models\b"
BEGIN = r"\.begin(_nested)?\(\)"
RULES = [
    ("SQL runs only in relational/", SCALARS, ("app", "documents", "schemas")),
    ("the ORM's models stay in relational/", MODELS, ("app", "documents")),
    ("a transaction's begin() commits: units of work only", BEGIN, ("documents", "schemas")),
    ("a transaction's begin() commits: units of work only", BEGIN, APP_BUT_UNITS_OF_WORK),
]


@pytest.mark.parametrize(("rule", "pattern", "places"), RULES, ids=[f"{r[0]}:{r[1]}" for r in RULES])
def test_layering(rule: str, pattern: str, places: tuple[str, ...] | list[Path]) -> None:
    offenders = [
        f"{file.relative_to(ROOT)}:{number}: {line.strip()}"
        for file in _files(places)
        for number, line in enumerate(file.read_text().splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert offenders == [], rule


def test_no_mongo_query_in_schemas() -> None:
    offenders = [
        f"{file.relative_to(ROOT)}:{line}: {what}"
        for file in _files(("schemas",))
        for line, what in _mongo_in_code(ast.parse(file.read_text()))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("pattern", "line"),
    [(SCALARS, "db.scalars(q)"), (MODELS, "from relational.models import Person"), (BEGIN, "async with db.begin():")],
)
def test_the_rules_see_what_they_refuse(pattern: str, line: str) -> None:
    assert re.search(pattern, line)
