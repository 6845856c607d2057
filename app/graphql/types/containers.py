"""Container (a puck, a plate), with its samples."""

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.samples import BLSample

if TYPE_CHECKING:
    from app.graphql.types.dewars import Dewar

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["containerId"], description="A container (puck, plate) in a dewar")
class Container:
    containerId: int
    dewarId: int | None
    proposalId: int
    code: str | None
    barcode: str | None
    containerType: str | None
    capacity: int | None
    containerStatus: str | None
    sampleChangerLocation: str | None
    beamlineLocation: str | None
    comments: str | None

    @classmethod
    async def resolve_reference(cls, info: Info, containerId: int) -> Self | None:
        row = await loaders.CONTAINERS.one(info.context, loaders.reference_id(containerId, "containerId"))
        return None if row is None else build(cls, row)

    @field(name="Dewar", description="Its dewar")
    async def dewarOf(self, info: Info) -> Annotated["Dewar", strawberry.lazy("app.graphql.types.dewars")] | None:
        from app.graphql.types.dewars import Dewar

        row = await loaders.DEWARS.one(info.context, self.dewarId)
        return None if row is None else build(Dewar, row)

    @field(description="Its samples, newest first")
    async def samples(self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None) -> Connection[BLSample]:
        page = page_of(first, after)
        found = await loaders.SAMPLES_OF_CONTAINERS.page(info.context, self.containerId, page)
        return connection(found.total, found.rows, page, lambda row: build(BLSample, row))
