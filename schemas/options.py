"""Beamline groups (py-ispyb's option) and the options the UI reads."""

from collections.abc import Iterable, Sequence

from pydantic import BaseModel


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


def ui_groups(groups: Sequence[BeamLineGroup], beamlines: Iterable[str | None]) -> list[str]:
    """The UI groups of the groups that contain any of ``beamlines``."""
    wanted = set(beamlines)
    return sorted({g.uiGroup for g in groups if any(b.beamLineName in wanted for b in g.beamLines)})
