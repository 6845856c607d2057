"""BLSample and Protein."""

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.graphql import loaders
from app.graphql.types import Info, field, one, rest_type
from app.graphql.types.proposals import proposal_of
from schemas import samples

if TYPE_CHECKING:
    from app.graphql.types.containers import Container


@rest_type(
    samples.Protein,
    without=("metadata",),
    key="proteinId",
    loader=loaders.PROTEINS,
    description="A protein (an acronym) of a proposal",
)
class Protein:
    proposalOf = strawberry.field(resolver=proposal_of, name="Proposal", description="Its proposal")


@rest_type(
    samples.Sample,
    without=("Crystal", "Container", "DiffractionPlan", "metadata"),
    key="blSampleId",
    loader=loaders.SAMPLES,
    description="A sample (a crystal of a protein, in a container)",
)
class BLSample:
    containerId: int | None
    crystalId: int | None
    proteinId: int | None
    diffractionPlanId: int | None

    @field(name="Protein", description="Its crystal's protein")
    async def proteinOf(self, info: Info) -> Protein | None:
        return await one(info, loaders.PROTEINS, self.proteinId, Protein)

    @field(name="Container", description="Its container, if any")
    async def containerOf(
        self, info: Info
    ) -> Annotated["Container", strawberry.lazy("app.graphql.types.containers")] | None:
        from app.graphql.types.containers import Container

        return await one(info, loaders.CONTAINERS, self.containerId, Container)
