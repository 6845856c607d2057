"""Shipping (a shipment), with its dewars and lab contacts."""

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, one, rest_type
from app.graphql.types.dewars import Dewar
from app.graphql.types.labcontacts import LabContact
from app.graphql.types.proposals import proposal_of
from schemas import shipping


@rest_type(
    shipping.Shipping,
    without=("metadata", "Dewar"),
    key="shippingId",
    loader=loaders.SHIPPINGS,
    description="A shipment of dewars to the facility",
)
class Shipping:
    shippingId: int
    deliveryAgent_agentName: str | None
    sendingLabContactId: int | None
    returnLabContactId: int | None

    @field(description="`courier` or `hand-carried`")
    def deliveryMode(self) -> str | None:
        mode = shipping.delivery_mode(self.deliveryAgent_agentName)
        return None if mode is None else mode.value

    proposalOf = strawberry.field(resolver=proposal_of, name="Proposal", description="Its proposal")

    @field(description="Its dewars, newest first")
    async def dewars(self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None) -> Connection[Dewar]:
        return await children(info, loaders.DEWARS_OF_SHIPPINGS, self.shippingId, Dewar, first, after)

    @field(name="sendingLabContact", description="Who sends it")
    async def sendingLabContactOf(self, info: Info) -> LabContact | None:
        return await one(info, loaders.LABCONTACTS, self.sendingLabContactId, LabContact)

    @field(name="returnLabContact", description="Who gets it back")
    async def returnLabContactOf(self, info: Info) -> LabContact | None:
        return await one(info, loaders.LABCONTACTS, self.returnLabContactId, LabContact)
