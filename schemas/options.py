"""Beamline groups (py-ispyb's option) and the options the UI reads."""

from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class BeamLine(BaseModel):
    """A beamline of a beamline group (py-ispyb's ``beamLineGroups[].beamLines[]``)."""

    beamLineName: str
    sampleChangerType: str | None = None
    sampleChangerCapacity: int | None = None
    archived: bool = False


class BeamLineGroup(BaseModel):
    """Staff holding ``permission`` see every proposal with a session on one of ``beamLines``."""

    groupName: str
    uiGroup: str = "mx"
    permission: str
    beamLines: list[BeamLine] = []


class UIOptions(BaseModel):
    motd: str
    beamLineGroups: list[BeamLineGroup]


class Options(UIOptions):
    """py-ispyb's options that mean something here (the form of the UI's Admin → Options page)."""


class OptionsUpdate(BaseModel):
    """The options to change; a key left out keeps its value. py-ispyb's ``query_debug``,
    ``enable_legacy_routes``, ``enable_webservice_routes`` and ``create_person_on_missing`` are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    motd: str = Field("", title="Message of the Day", description="Displayed at the top of the UI")
    beamLineGroups: Annotated[list[BeamLineGroup], WithJsonSchema({"type": "array", "items": {"type": "object"}})] = (
        Field(
            [],
            title="Beamline Groups",
            description="Read-only here: they decide who sees which proposals, so they come from ISPYB_BEAMLINE_GROUPS;"
            " a value other than the configured groups is refused (422)",
        )
    )


def ui_groups(groups: Sequence[BeamLineGroup], beamlines: Iterable[str | None]) -> list[str]:
    """The UI groups of the groups that contain any of ``beamlines``."""
    wanted = set(beamlines)
    return sorted({g.uiGroup for g in groups if any(b.beamLineName in wanted for b in g.beamLines)})
