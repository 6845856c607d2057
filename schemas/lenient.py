"""Bodies sent by beamline software (MXCuBE's dicts): keys we have no column for are set aside, never refused."""

from typing import Any

from pydantic import BaseModel, ConfigDict


def _ignored(value: Any, path: str) -> list[str]:
    if isinstance(value, Lenient):
        return value.ignored(path)
    if isinstance(value, list):
        return [key for i, item in enumerate(value) for key in _ignored(item, f"{path}[{i}]")]
    return []


class Lenient(BaseModel):
    """A body whose unknown keys are accepted and listed by ``ignored`` (the route reports them)."""

    model_config = ConfigDict(extra="allow")

    def ignored(self, path: str = "") -> list[str]:
        """Dotted paths of the keys this body (and the bodies nested in it) did not use."""
        prefix = f"{path}." if path else ""
        own = [f"{prefix}{key}" for key in (self.model_extra or {})]
        nested = [key for name in type(self).model_fields for key in _ignored(getattr(self, name), prefix + name)]
        return sorted(own + nested)
