"""The pipelines' client (clients/python) stays in step with the API and apart from the server: its models agree
with the OpenAPI components of the same names, and it needs nothing but httpx, pydantic and the standard library."""

import json
import re
import subprocess
import sys
import tomllib
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any

import ispyb_hybrid_client
import pytest
from pydantic import BaseModel, TypeAdapter

from app.main import create_app
from app.openapi_forms import form_components, plain
from app.settings import Settings
from schemas.results import MetricIn

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "python"
EXPORTED = [getattr(ispyb_hybrid_client, name) for name in ispyb_hybrid_client.__all__]
MODELS = [value for value in EXPORTED if isinstance(value, type) and issubclass(value, (BaseModel, Enum))]
#: words, not shape: left out of the comparison
PROSE = {"title", "description"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    return create_app(settings).openapi()


@pytest.fixture(scope="module")
def components(spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"]
    # A bulk upload's lines are NDJSON, outside the OpenAPI: the server's model of one line is the reference.
    return found | {"MetricIn": MetricIn.model_json_schema(ref_template="#/components/schemas/{model}")}


@pytest.fixture(scope="module")
def forms(spec: dict[str, Any]) -> set[str]:
    """The components published form-friendly (app/openapi_forms.py): the client's models of them are compared
    as the server publishes them, through the same rewriting."""
    return form_components(spec)


def shape(schema: Any, defs: dict[str, Any]) -> Any:
    """A JSON Schema with its references resolved and its prose dropped: field names, types, required-ness,
    bounds, patterns and defaults. As FastAPI writes its OpenAPI, numbers are floats and a ``None`` default is
    left out."""
    if isinstance(schema, list):
        return [shape(item, defs) for item in schema]
    if isinstance(schema, int) and not isinstance(schema, bool):
        return float(schema)
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return shape(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    return {
        key: {name: shape(field, defs) for name, field in value.items()} if key == "properties" else shape(value, defs)
        for key, value in schema.items()
        if key not in PROSE | {"$defs"} and not (key == "default" and value is None)
    }


def published(schema: dict[str, Any], name: str, forms: set[str]) -> dict[str, Any]:
    """``schema`` (``name``'s, with its ``$defs``) as the server publishes it: form components rewritten."""
    defs = schema.get("$defs", {})
    schema = schema | {"$defs": {key: plain(value, defs) if key in forms else value for key, value in defs.items()}}
    return plain(schema, defs) if name in forms else schema


def client_schema(model: type[BaseModel] | type[Enum]) -> dict[str, Any]:
    schema: dict[str, Any] = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    return schema


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_client_model_agrees_with_the_openapi(
    model: type[BaseModel] | type[Enum], components: dict[str, Any], forms: set[str]
) -> None:
    assert model.__name__ in components, "the client models a shape the API does not have"
    schema = published(client_schema(model), model.__name__, forms)
    ours, theirs = shape(schema, schema.get("$defs", {})), shape(components[model.__name__], components)
    assert sorted(ours.get("properties", {})) == sorted(theirs.get("properties", {})), "field names"
    assert sorted(ours.get("required", [])) == sorted(theirs.get("required", [])), "required fields"
    for name, field in ours.get("properties", {}).items():
        assert field == theirs["properties"][name], name
    assert ours == theirs


def test_every_model_of_the_client_is_compared() -> None:
    """A model the client defines but does not export would escape the comparison above."""
    models = ispyb_hybrid_client.models
    defined = {
        value
        for value in vars(models).values()
        if isinstance(value, type) and value.__module__ == models.__name__ and issubclass(value, (BaseModel, Enum))
    }
    assert defined - set(MODELS) == {models.Sent}  # the base of request bodies, without fields


def test_the_client_imports_nothing_of_the_server() -> None:
    """Imported alone, the client loads only the standard library and what httpx and pydantic need."""
    probe = (
        "import json, sys; had = {*sys.modules}; import ispyb_hybrid_client; print(json.dumps([*{*sys.modules} - had]))"
    )
    run = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    tops = {name.split(".")[0] for name in json.loads(run.stdout)}
    allowed = set(sys.stdlib_module_names) | {"ispyb_hybrid_client"} | _modules_of(_closure("ispyb-hybrid-client"))
    assert {top for top in tops - allowed if not top.startswith("_sysconfigdata")} == set()
    assert (
        tops & {"fastapi", "starlette", "sqlalchemy", "pymongo", "app", "schemas", "relational", "documents"} == set()
    )


def test_the_client_depends_on_httpx_and_pydantic_only() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert {_name(requirement) for requirement in project["dependencies"]} == {"httpx", "pydantic"}


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found, requirement
    return found.group().lower().replace("_", "-")


def _closure(distribution: str) -> set[str]:
    """The installed distributions ``distribution`` needs, itself included, with its dependencies' extras (httpx
    imports its command line's packages whenever they are installed). One not installed, e.g. a backport for an
    older Python, cannot be imported anyway."""
    seen: set[str] = set()
    todo = [(distribution, 0)]
    while todo:
        name, depth = todo.pop()
        if name in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [(_name(r), depth + 1) for r in requires if depth == 1 or "extra ==" not in r]
    return seen


def _modules_of(distributions: set[str]) -> set[str]:
    return {
        module
        for module, owners in metadata.packages_distributions().items()
        if {_name(owner) for owner in owners} & distributions
    }
