"""Proposals, as py-ispyb serves them."""

from pydantic import Field

from schemas.common import ApiModel


class ProposalMetaData(ApiModel):
    persons: int = Field(description="Number of people on this proposal (ProposalHasPerson)")
    sessions: int = Field(description="Number of sessions")
    beamLines: list[str] = Field(description="Beamlines of this proposal's sessions")
    uiGroups: list[str] = Field(description="UI groups of those beamlines")


class Proposal(ApiModel):
    proposalId: int
    proposalCode: str = Field(description="Empty when unset, never null (MXCuBE needs strings here)")
    proposalNumber: str = Field(description="Empty when unset, never null")
    proposal: str
    title: str = Field(description="Empty when unset, never null")
    state: str | None
    metadata: ProposalMetaData = Field(alias="_metadata")
