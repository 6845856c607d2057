"""Container (a puck, a plate), with its samples."""

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, one, rest_type
from app.graphql.types.samples import BLSample
from schemas import shipping

if TYPE_CHECKING:
    from app.graphql.types.dewars import Dewar


@rest_type(
    shipping.Container,
    without=("metadata",),
    key="containerId",
    loader=loaders.CONTAINERS,
    description="A container (puck, plate) in a dewar",
)
class Container:
    containerId: int
    dewarId: int | None

    @field(name="Dewar", description="Its dewar")
    async def dewarOf(self, info: Info) -> Annotated["Dewar", strawberry.lazy("app.graphql.types.dewars")] | None:
        from app.graphql.types.dewars import Dewar

        return await one(info, loaders.DEWARS, self.dewarId, Dewar)

    @field(description="Its samples, newest first")
    async def samples(self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None) -> Connection[BLSample]:
        return await children(info, loaders.SAMPLES_OF_CONTAINERS, self.containerId, BLSample, first, after)
