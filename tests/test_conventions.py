"""The few layering rules that matter most here, checked on the source tree."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = [
    # (import pattern, folders where it is refused)
    (r"^\s*(from|import) (pymongo|motor)\b", ("app", "relational", "schemas")),
    (r"^\s*(from|import) sqlalchemy\b", ("app", "documents", "schemas")),
    (r"^\s*(from|import) secantus", ("app", "relational", "documents", "schemas")),
    # data access flushes; the request's unit of work (app/deps.py) or the CLI commits
    (r"\.commit\(\)", ("app/routers", "app/shipment_import.py", "relational", "documents", "schemas")),
]


@pytest.mark.parametrize(("pattern", "places"), RULES)
def test_layering(pattern: str, places: tuple[str, ...]) -> None:
    offenders = []
    for place in places:
        path = ROOT / place
        for file in [path] if path.is_file() else path.rglob("*.py"):
            for number, line in enumerate(file.read_text().splitlines(), 1):
                if re.search(pattern, line):
                    offenders.append(f"{file.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
