"""Beamline groups (py-ispyb's option) and the options the UI reads."""

from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class BeamLine(BaseModel):
    """A beamline of a beamline group (py-ispyb's ``beamLineGroups[].beamLines[]``)."""

    beamLineName: str = Field(title="Beamline Name")
    sampleChangerType: str | None = Field(None, title="Sample Changer Type")
    sampleChangerCapacity: int | None = Field(
        None,
        title="Sample Changer Capacity",
        description="If no specific type is available a capacity can be defined for the generic view",
    )
    archived: bool = Field(
        False, title="Archived", description="Whether this beamline is archived (no longer displayed on landing page)"
    )


class BeamLineGroup(BaseModel):
    """Staff holding ``permission`` see every proposal with a session on one of ``beamLines``."""

    groupName: str = Field(title="Group Name")
    uiGroup: str = Field("mx", title="UI Group", description="Display type to use in the UI")
    permission: str = Field(
        title="Permission", description="Permission required to view all proposals from these beamlines"
    )
    beamLines: list[BeamLine] = Field([], title="Beamlines")


class UIOptions(BaseModel):
    motd: str
    beamLineGroups: list[BeamLineGroup]


class Options(UIOptions):
    """py-ispyb's options that mean something here (the form of the UI's Admin → Options page, with its titles)."""

    motd: str = Field(title="Message of the Day", description="Displayed at the top of the UI")
    beamLineGroups: list[BeamLineGroup] = Field(
        title="Beamline Groups", description="From ISPYB_BEAMLINE_GROUPS: who sees which beamlines' proposals"
    )


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
