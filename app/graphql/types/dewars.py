"""Dewar, with its containers."""

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, one, rest_type
from app.graphql.types.containers import Container
from schemas import shipping

if TYPE_CHECKING:
    from app.graphql.types.shipping import Shipping


@rest_type(
    shipping.Dewar,
    without=("metadata",),
    key="dewarId",
    loader=loaders.DEWARS,
    description="A dewar (or toolbox) of a shipment",
)
class Dewar:
    dewarId: int
    shippingId: int | None

    @field(name="Shipping", description="Its shipment")
    async def shippingOf(
        self, info: Info
    ) -> Annotated["Shipping", strawberry.lazy("app.graphql.types.shipping")] | None:
        from app.graphql.types.shipping import Shipping

        return await one(info, loaders.SHIPPINGS, self.shippingId, Shipping)

    @field(description="Its containers, newest first")
    async def containers(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Container]:
        return await children(info, loaders.CONTAINERS_OF_DEWARS, self.dewarId, Container, first, after)
