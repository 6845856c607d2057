"""The OpenAPI changes only on purpose: it is compared with a snapshot kept beside this file (without the error
responses, which routes declare from the DomainError hierarchy and which are checked on their own). After a
deliberate change of the API, rewrite the snapshot with ``python -m tests.test_openapi_stable`` and review its diff.
"""

import json
from pathlib import Path
from typing import Any

from app.main import create_app
from app.problems import PROBLEM_JSON, problem
from app.settings import Settings
from schemas.problems import Problem

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
#: the components that only error bodies use
ERROR_SCHEMAS = ("Problem", "ValidationIssue", "HTTPValidationError", "ValidationError")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _openapi() -> dict[str, Any]:
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    return create_app(settings).openapi()


def _without_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` less every 4xx and 5xx response and the error bodies' schemas."""
    spec = json.loads(json.dumps(spec))
    for operations in spec["paths"].values():
        for operation in operations.values():
            operation["responses"] = {k: v for k, v in operation["responses"].items() if int(k) < 400}
    for name in ERROR_SCHEMAS:
        spec["components"]["schemas"].pop(name, None)
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_the_openapi_is_the_snapshot() -> None:
    assert _without_errors(_openapi()) == json.loads(SNAPSHOT.read_text())


def test_routes_declare_their_errors_as_problems() -> None:
    operations = _operations(_openapi())
    assert len(operations) > 50
    for method, path, op in operations:
        codes = set(op["responses"])
        assert not op.get("security") or {"401", "503"} <= codes, (method, path)
        assert "{" not in path or "404" in codes, (method, path)
        for code, answer in op["responses"].items():
            if int(code) >= 400 and answer["description"] != "Validation Error":  # FastAPI's own 422
                assert answer["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path, code)


def test_the_problem_model_reads_what_is_rendered() -> None:
    issues = [{"loc": ["query", "limit"], "msg": "too big", "type": "less_than_equal"}]
    for body in (problem(404, "Not found", "Shipment 1 not found"), problem(422, "Request validation failed", issues)):
        assert body.media_type == PROBLEM_JSON
        text = bytes(body.body)
        assert Problem.model_validate_json(text).model_dump(exclude_none=True) == json.loads(text)


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(_without_errors(_openapi()), indent=1, sort_keys=True) + "\n")
