"""Dewar, with its containers."""

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.containers import Container

if TYPE_CHECKING:
    from app.graphql.types.shipping import Shipping

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["dewarId"], description="A dewar (or toolbox) of a shipment")
class Dewar:
    dewarId: int
    shippingId: int | None
    proposalId: int
    shippingName: str | None
    code: str | None
    barCode: str | None
    facilityCode: str | None
    dewarStatus: str | None
    storageLocation: str | None
    type: str | None
    comments: str | None
    trackingNumberToSynchrotron: str | None
    trackingNumberFromSynchrotron: str | None

    @classmethod
    async def resolve_reference(cls, info: Info, dewarId: int) -> Self | None:
        row = await loaders.DEWARS.one(info.context, loaders.reference_id(dewarId, "dewarId"))
        return None if row is None else build(cls, row)

    @field(name="Shipping", description="Its shipment")
    async def shippingOf(
        self, info: Info
    ) -> Annotated["Shipping", strawberry.lazy("app.graphql.types.shipping")] | None:
        from app.graphql.types.shipping import Shipping

        row = await loaders.SHIPPINGS.one(info.context, self.shippingId)
        return None if row is None else Shipping.of(row)

    @field(description="Its containers, newest first")
    async def containers(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Container]:
        page = page_of(first, after)
        found = await loaders.CONTAINERS_OF_DEWARS.page(info.context, self.dewarId, page)
        return connection(found.total, found.rows, page, lambda row: build(Container, row))
