"""The layering rules of docs/architecture.md, checked on the source tree."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_BUT_UNITS_OF_WORK = [p for p in (ROOT / "app").rglob("*.py") if p.name != "deps.py" and "cli" not in p.parts]
SCALARS = r"\.(scalars?|stream_scalars)\("
MODELS = r"^\s*(from|import) relational\.models\b"
BEGIN = r"\.begin(_nested)?\(\)"  # a transaction's begin() commits on its own
FILES = r"\bFileResponse\b|\bopen_file\(|\baiofiles\b"
#: data files go out through app/files (roots, bounded threads); the dashboard's files are the package's own
APP_BUT_FILES = [
    p
    for p in (ROOT / "app").rglob("*.py")
    if p.relative_to(ROOT / "app").parts[0] != "files" and "dashboard" not in p.parts
]
RULES = [
    # (rule, import or call pattern, places where it is refused)
    ("lower floors never import app", r"^\s*(from|import) app\b", ("relational", "documents", "schemas")),
    ("schemas is the lowest floor", r"^\s*(from|import) (relational|documents)\b", ("schemas",)),
    ("the two stores' data access stay apart", r"^\s*(from|import) documents\b", ("relational",)),
    ("the two stores' data access stay apart", r"^\s*(from|import) relational\b", ("documents",)),
    (
        "no pymongo or bson outside documents/",
        r"^\s*(from|import) (pymongo|motor|bson)\b",
        ("app", "relational", "schemas"),
    ),
    ("no SQLAlchemy outside relational/", r"^\s*(from|import) sqlalchemy\b", ("app", "documents", "schemas")),
    # graphql_schema.execute( runs a GraphQL query (app/graphql/router.py), not SQL
    (
        "SQL statements run only in relational/",
        r"(?<!graphql_schema)\.(execute|exec_driver_sql)\(",
        ("app", "documents", "schemas"),
    ),
    ("SQL statements run only in relational/", SCALARS, ("app", "documents", "schemas")),
    ("the ORM's models stay in relational/", MODELS, ("app", "documents")),
    ("SecantusDB is a process, never imported", r"^\s*(from|import) secantus", ("app", "relational", "documents")),
    ("only the request dependency and the CLI commit", r"\.commit\(\)", ("relational", "documents", "schemas")),
    ("only the request dependency and the CLI commit", r"\.commit\(\)", APP_BUT_UNITS_OF_WORK),
    ("only the request dependency and the CLI commit", BEGIN, ("documents", "schemas")),
    ("only the request dependency and the CLI commit", BEGIN, APP_BUT_UNITS_OF_WORK),
    ("data files are served by app/files", FILES, APP_BUT_FILES),
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


@pytest.mark.parametrize(
    ("pattern", "line"),
    [
        (SCALARS, "db.scalars(q)"),
        (MODELS, "from relational.models import Person"),
        (BEGIN, "async with db.begin():"),
        (FILES, "return FileResponse(path)"),
        (FILES, "async with await anyio.open_file(path) as f:"),
    ],
)
def test_the_rules_see_what_they_refuse(pattern: str, line: str) -> None:
    assert re.search(pattern, line)


def test_rules_see_the_tree() -> None:
    """The rules above look at real files (a moved folder would make them pass on nothing)."""
    for place in ("app/routers", "app/services", "app/cli", "app/files", "relational", "documents", "schemas"):
        assert _files((place,)), place
    assert len(APP_BUT_UNITS_OF_WORK) > 20
    assert len(APP_BUT_FILES) > 20 and not any("files" in p.parts for p in APP_BUT_FILES)


#: an operator or a field path of a Mongo filter, update or pipeline (``$in``, ``$set``, ``$dataCollectionId``)
MONGO_WORD = re.compile(r"^\$[A-Za-z_][\w.]*$")
#: JSON Schema's keywords look alike and are no query (an OpenAPI ``$ref``, a kind's ``$schema``)
JSON_SCHEMA_WORDS = frozenset("$ref $schema $id $defs $anchor $dynamicRef $dynamicAnchor $vocabulary".split())
#: methods of a Mongo collection: called on ``<database>.<collection>`` or ``<database>[<name>]``
MONGO_METHODS = frozenset(
    "find find_one find_one_and_update find_one_and_replace find_one_and_delete aggregate distinct count_documents "
    "estimated_document_count insert_one insert_many update_one update_many replace_one delete_one delete_many "
    "bulk_write create_index drop watch".split()
)


def _mongo_in_code(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) of each Mongo operator written as a string of its own, and each collection method called.
    Prose that shows an operator (a docstring, an OpenAPI description) holds more than the operator: not matched."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MONGO_WORD.match(node.value)
            and node.value not in JSON_SCHEMA_WORDS
        ):
            yield node.lineno, repr(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MONGO_METHODS
            and isinstance(node.func.value, ast.Attribute | ast.Subscript)
        ):
            yield node.lineno, f".{node.func.attr}() on a collection"


@pytest.mark.parametrize("place", ["app", "relational", "schemas"])
def test_mongo_queries_only_in_documents(place: str) -> None:
    """Every Mongo filter, update and pipeline is built in documents/ (routers and services call its functions)."""
    offenders = [
        f"{file.relative_to(ROOT)}:{line}: {what}"
        for file in _files((place,))
        for line, what in _mongo_in_code(ast.parse(file.read_text()))
    ]
    assert offenders == []


def test_the_mongo_rule_sees_queries() -> None:
    """The rule above finds what it forbids in code, and passes prose over."""
    code = """
def f(db, ids, low):
    \"\"\"Filter with `$in`, then `$set`.\"\"\"
    bounds = {op: low for op in ("$gte", "$lte")}
    db.results.update_many({"_id": {"$in": ids}}, {"$set": {"x": 1}})
    return db["metrics"].aggregate([{"$group": {"_id": "$kind"}}])
"""
    found = [what for _, what in _mongo_in_code(ast.parse(code))]
    assert sorted(found) == sorted(
        [
            "'$gte'",
            "'$lte'",
            "'$in'",
            "'$set'",
            "'$group'",
            "'$kind'",
            ".update_many() on a collection",
            ".aggregate() on a collection",
        ]
    )
    prose = 'd = {"x": 1}\nq = "the `$match` stage"\nresults.find(d)\nref = {"$ref": "#/components/schemas/Problem"}'
    assert list(_mongo_in_code(ast.parse(prose))) == []
