"""BLSample and Protein."""

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import loaders
from app.graphql.context import Context
from app.graphql.types import build, field

if TYPE_CHECKING:
    from app.graphql.types.containers import Container
    from app.graphql.types.proposals import Proposal

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["proteinId"], description="A protein (an acronym) of a proposal")
class Protein:
    proteinId: int
    proposalId: int
    proposal: str
    acronym: str | None
    name: str | None
    molecularMass: float | None

    @classmethod
    async def resolve_reference(cls, info: Info, proteinId: int) -> Self | None:
        row = await loaders.PROTEINS.one(info.context, loaders.reference_id(proteinId, "proteinId"))
        return None if row is None else build(cls, row)

    @field(name="Proposal", description="Its proposal")
    async def proposalOf(
        self, info: Info
    ) -> Annotated["Proposal", strawberry.lazy("app.graphql.types.proposals")] | None:
        from app.graphql.types.proposals import Proposal

        row = await loaders.PROPOSALS.one(info.context, self.proposalId)
        return None if row is None else build(Proposal, row)


@strawberry.federation.type(keys=["blSampleId"], description="A sample (a crystal of a protein, in a container)")
class BLSample:
    blSampleId: int
    name: str | None
    location: str | None = strawberry.field(description="Position in its container")
    containerId: int | None
    code: str | None
    comments: str | None
    crystalId: int | None
    proteinId: int | None
    diffractionPlanId: int | None

    @classmethod
    async def resolve_reference(cls, info: Info, blSampleId: int) -> Self | None:
        row = await loaders.SAMPLES.one(info.context, loaders.reference_id(blSampleId, "blSampleId"))
        return None if row is None else build(cls, row)

    @field(name="Protein", description="Its crystal's protein")
    async def proteinOf(self, info: Info) -> Protein | None:
        row = await loaders.PROTEINS.one(info.context, self.proteinId)
        return None if row is None else build(Protein, row)

    @field(name="Container", description="Its container, if any")
    async def containerOf(
        self, info: Info
    ) -> Annotated["Container", strawberry.lazy("app.graphql.types.containers")] | None:
        from app.graphql.types.containers import Container

        row = await loaders.CONTAINERS.one(info.context, self.containerId)
        return None if row is None else build(Container, row)
