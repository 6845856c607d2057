"""Shipping (a shipment), with its dewars and lab contacts."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.dewars import Dewar
from app.graphql.types.labcontacts import LabContact
from schemas.shipping import delivery_mode

if TYPE_CHECKING:
    from app.graphql.types.proposals import Proposal

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["shippingId"], description="A shipment of dewars to the facility")
class Shipping:
    shippingId: int
    proposalId: int
    proposal: str
    shippingName: str | None
    shippingStatus: str | None
    comments: str | None
    safetyLevel: str | None
    creationDate: datetime | None
    deliveryMode: str | None = strawberry.field(description="`courier` or `hand-carried`")
    deliveryAgent_agentName: str | None = strawberry.field(name="deliveryAgent_agentName")
    deliveryAgent_flightCode: str | None = strawberry.field(name="deliveryAgent_flightCode")
    deliveryAgent_shippingDate: date | None = strawberry.field(name="deliveryAgent_shippingDate")
    deliveryAgent_deliveryDate: date | None = strawberry.field(name="deliveryAgent_deliveryDate")
    sendingLabContactId: int | None
    returnLabContactId: int | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Self:
        """A shipment from its row, its delivery mode read as the REST list reads it."""
        mode = delivery_mode(row["deliveryAgent_agentName"])
        return build(cls, row | {"deliveryMode": None if mode is None else mode.value})

    @classmethod
    async def resolve_reference(cls, info: Info, shippingId: int) -> Self | None:
        row = await loaders.SHIPPINGS.one(info.context, loaders.reference_id(shippingId, "shippingId"))
        return None if row is None else cls.of(row)

    @field(name="Proposal", description="Its proposal")
    async def proposalOf(
        self, info: Info
    ) -> Annotated["Proposal", strawberry.lazy("app.graphql.types.proposals")] | None:
        from app.graphql.types.proposals import Proposal

        row = await loaders.PROPOSALS.one(info.context, self.proposalId)
        return None if row is None else build(Proposal, row)

    @field(description="Its dewars, newest first")
    async def dewars(self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None) -> Connection[Dewar]:
        page = page_of(first, after)
        found = await loaders.DEWARS_OF_SHIPPINGS.page(info.context, self.shippingId, page)
        return connection(found.total, found.rows, page, lambda row: build(Dewar, row))

    @field(name="sendingLabContact", description="Who sends it")
    async def sendingLabContactOf(self, info: Info) -> LabContact | None:
        row = await loaders.LABCONTACTS.one(info.context, self.sendingLabContactId)
        return None if row is None else LabContact.of(row)

    @field(name="returnLabContact", description="Who gets it back")
    async def returnLabContactOf(self, info: Info) -> LabContact | None:
        row = await loaders.LABCONTACTS.one(info.context, self.returnLabContactId)
        return None if row is None else LabContact.of(row)
