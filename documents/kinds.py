"""The result-kind registry: JSON Schemas (draft 2020-12) of the built-in kinds shipped in ``schemas/kinds/``,
plus the kinds staff register (collection ``kinds``). A registered kind validates a metric's ``values`` or a
result's ``data``; others are stored schema-free unless the registry is strict."""

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from documents.store import guarded
from schemas.errors import Conflict, InvalidInput

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "schemas" / "kinds"
MAX_BIN_INDEX = 2**53  # a binned value's bin number stays an exact float, its rollup sums finite


@cache
def builtin() -> dict[str, dict[str, Any]]:
    """The kinds shipped with the service, by name."""
    kinds = {}
    for file in sorted(BUILTIN_DIR.glob("*.json")):
        entry = json.loads(file.read_text())
        kinds[entry["kind"]] = entry | {"builtin": True}
    return kinds


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """The compiled validator of a schema object (kept while the object lives: built-ins for good)."""
    held = _VALIDATORS.get(id(schema))
    if held is None or held[0] is not schema:
        if len(_VALIDATORS) > 1000:
            _VALIDATORS.clear()
        held = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    return held[1]


def bins_of(schema: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """field → (origin, width) for the fields of a kind's schema that declare fixed bins."""
    out = {}
    for name, spec in schema.get("properties", {}).items():
        bins = spec.get("bins") if isinstance(spec, dict) else None
        if isinstance(bins, dict) and isinstance(bins.get("width"), int | float) and bins["width"] > 0:
            out[name] = (float(bins.get("origin", 0)), float(bins["width"]))
    return out


def unbinnable(schema: dict[str, Any], value: dict[str, Any], base: str) -> list[str]:
    """The binned fields of ``value`` too far from their bins' origin to be rolled up (bin number over 2^53)."""
    problems = []
    for name, (origin, width) in bins_of(schema).items():
        x = value.get(name)
        if isinstance(x, int | float) and not isinstance(x, bool) and not abs((x - origin) / width) < MAX_BIN_INDEX:
            problems.append(f"{base}.{name}: {x} is beyond the range its fixed bins cover ({origin} ± {width}·2^53)")
    return problems


def violations(schema: dict[str, Any], value: dict[str, Any], base: str) -> list[str]:
    """Each way ``value`` breaks ``schema``, with its JSON path (``base`` names the checked field)."""
    validator = _validator(schema)
    try:
        if validator.is_valid(value):
            return []
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    except RecursionError:
        return [f"{base}: the kind's schema nests too deeply to check a value against it"]
    return [
        f"{base}{''.join(f'[{p}]' if isinstance(p, int) else f'.{p}' for p in e.absolute_path)}: {e.message}"
        for e in errors
    ]


@guarded
async def get_kind(db: AsyncDatabase[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """A registered kind: built-in, or registered by staff."""
    if kind in builtin():
        return builtin()[kind]
    found = await db.kinds.find_one({"kind": kind}, {"_id": 0})
    return None if found is None else _decoded(found)


def _decoded(stored: dict[str, Any]) -> dict[str, Any]:
    """Schemas are stored as JSON text: their `$schema`/`$ref` keys are no document field names."""
    entry = {k: v for k, v in stored.items() if k not in ("schemaJson", "registeredBy")}
    return entry | {"schema": json.loads(stored["schemaJson"]), "builtin": False}


@guarded
async def list_kinds(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    registered = [_decoded(k) async for k in db.kinds.find({}, {"_id": 0}).sort("kind", 1)]
    return sorted([*builtin().values(), *registered], key=lambda k: k["kind"])


@guarded
async def register(db: AsyncDatabase[dict[str, Any]], entry: dict[str, Any], person_id: int) -> None:
    """Store a new kind's schema after checking it is a valid draft 2020-12 schema; 409 if the kind exists."""
    if entry["kind"] in builtin():
        raise Conflict(f"`{entry['kind']}` is a built-in kind")
    try:
        Draft202012Validator.check_schema(entry["schema"])
    except SchemaError as exc:
        raise InvalidInput(f"Not a valid JSON Schema (draft 2020-12): {exc.message}") from None
    except RecursionError:
        raise InvalidInput("The schema nests too deeply to be checked") from None
    try:
        stored = {k: v for k, v in entry.items() if k != "schema"} | {"schemaJson": json.dumps(entry["schema"])}
        await db.kinds.insert_one(stored | {"registeredBy": person_id})
    except DuplicateKeyError:
        raise Conflict(f"Kind `{entry['kind']}` is already registered") from None


class Checker:
    """Checks values against their kinds for one request: each kind looked up once, each schema compiled once
    per process."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], strict: bool) -> None:
        self.db, self.strict = db, strict
        self.entries: dict[str, dict[str, Any] | None] = {}

    async def check(self, kind: str, target: str, value: dict[str, Any]) -> list[str]:
        """What is wrong with ``value`` (a metric's ``values`` or a result's ``data``) for its kind."""
        if kind not in self.entries:
            self.entries[kind] = await get_kind(self.db, kind)
        entry = self.entries[kind]
        if entry is None:
            return (
                [f"kind `{kind}` is not registered (this service only takes registered kinds)"] if self.strict else []
            )
        if entry["target"] != target:
            return [f"kind `{kind}` is a {entry['target']} kind"]
        base = "$.values" if target == "metric" else "$.data"
        return violations(entry["schema"], value, base) or (
            unbinnable(entry["schema"], value, base) if target == "metric" else []
        )
