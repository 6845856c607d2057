"""Form-friendly request schemas in the OpenAPI: py-ispyb-ui builds its forms with RJSF from the components it picks
by name, and RJSF cannot render pydantic's ``anyOf: [T, {"type": "null"}]`` for an optional field (a crash, or an
"Option 1/2" selector). Every component a request body uses, and the response components the UI renders as view
forms, publish an optional field without ``anyOf``: a value as ``T`` with ``"null"`` added to its type
(``{"type": ["string", "null"]}``, which RJSF reads as a string field, as py-ispyb published its nullable fields), a
nested model inlined the same way (``{"type": ["object", "null"], "properties": …}``), an enum as its plain ``$ref``.
Validation is unchanged: the models keep ``T | None``; only the published schema differs."""

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI

#: response components py-ispyb-ui renders as forms (its ``useSchema`` names besides request bodies): the view pages'
#: inline-editable forms and Admin → Options (filled with GET /options)
VIEW_FORMS = ("Shipping", "LabContact", "Options")
_NULL = {"type": "null"}


def _name(ref: object) -> str | None:
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) and ref.startswith("#/") else None


def plain(node: Any, defs: Mapping[str, Any], inlined: frozenset[str] = frozenset()) -> Any:
    """``node`` with every ``anyOf`` holding ``{"type": "null"}`` rewritten without it, at any depth; ``defs``: the
    components its ``$ref``s name (a nullable model is inlined once per path, so a model holding itself ends)."""
    if isinstance(node, list):
        return [plain(item, defs, inlined) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: plain(value, defs, inlined) for key, value in node.items()}
    branches = out.get("anyOf")
    if not isinstance(branches, list) or _NULL not in branches:
        return out
    rest = [branch for branch in branches if branch != _NULL]
    del out["anyOf"]
    if len(rest) != 1:
        return out | {"anyOf": rest}
    (only,) = rest
    name = _name(only.get("$ref"))
    if name is not None and name in defs and name not in inlined and defs[name].get("type") == "object":
        only = plain(defs[name], defs, inlined | {name})
    if isinstance(only.get("type"), str):
        only = only | {"type": [only["type"], "null"]}
    return only | out


def _without_date_time(node: Any) -> Any:
    """``node`` without ``format: date-time``: a view shows SQL times as the service answers them, without an offset
    (``schemas/times.py``), which a JSON Schema validator refuses as a date-time."""
    if isinstance(node, list):
        return [_without_date_time(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _without_date_time(v) for k, v in node.items() if (k, v) != ("format", "date-time")}


def _nullable_optional(node: Any) -> Any:
    """``node`` with its nullable properties out of ``required``, at any depth: the UI's view forms turn a null into
    undefined, so a required nullable field fails RJSF's live validation and its inline edit never sends a PATCH."""
    if isinstance(node, list):
        return [_nullable_optional(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_optional(v) for k, v in node.items()}
    properties, required = out.get("properties"), out.get("required")
    if isinstance(properties, dict) and isinstance(required, list):
        nullable = {name for name, prop in properties.items() if isinstance(prop, dict) and _is_nullable(prop)}
        kept = [name for name in required if name not in nullable]
        if kept:
            out["required"] = kept
        else:
            del out["required"]
    return out


def _is_nullable(prop: dict[str, Any]) -> bool:
    """Pydantic's ``anyOf: [T, null]`` (read before ``plain``, which turns a nullable enum into a bare ``$ref``)."""
    kind, branches = prop.get("type"), prop.get("anyOf")
    return (
        kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or (isinstance(branches, list) and _NULL in branches)
    )


def _refs(node: Any) -> Iterator[str]:
    """The component names ``node`` refers to, at any depth."""
    if isinstance(node, dict):
        if (name := _name(node.get("$ref"))) is not None:
            yield name
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _closure(components: Mapping[str, Any], names: list[str]) -> set[str]:
    found: set[str] = set()
    while names:
        name = names.pop()
        if name in components and name not in found:
            found.add(name)
            names.extend(_refs(components[name]))
    return found


def form_components(spec: dict[str, Any]) -> set[str]:
    """The components a request body uses, the UI's view forms, and every component they refer to."""
    components = spec.get("components", {}).get("schemas", {})
    bodies = [op.get("requestBody", {}) for ops in spec.get("paths", {}).values() for op in ops.values()]
    return _closure(components, [*_refs(bodies), *VIEW_FORMS])


def install(app: FastAPI) -> None:
    """Publish the form components of ``app``'s OpenAPI form-friendly (request bodies' inline schemas too)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()
        components = spec.get("components", {}).get("schemas", {})
        views = _closure(components, [*VIEW_FORMS])
        original = {name: _nullable_optional(c) if name in views else c for name, c in components.items()}
        for name in form_components(spec):
            components[name] = plain(original[name], original)
        for name in views:
            components[name] = _without_date_time(components[name])
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["requestBody"] = plain(operation["requestBody"], original)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
