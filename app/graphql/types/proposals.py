"""Proposal, with its sessions, shipments, proteins and lab contacts."""

from typing import TYPE_CHECKING, Annotated, Protocol

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, one, rest_type
from schemas import proposals

if TYPE_CHECKING:
    from app.graphql.types.labcontacts import LabContact
    from app.graphql.types.samples import Protein
    from app.graphql.types.sessions import Session
    from app.graphql.types.shipping import Shipping


@rest_type(
    proposals.Proposal,
    without=("metadata",),
    key="proposalId",
    loader=loaders.PROPOSALS,
    description="A proposal (code and number name it: `MX1`)",
)
class Proposal:
    proposalId: int

    @field(description="Its sessions the caller sees, latest first")
    async def sessions(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Session", strawberry.lazy("app.graphql.types.sessions")]]:
        from app.graphql.types.sessions import Session

        return await children(info, loaders.SESSIONS_OF_PROPOSALS, self.proposalId, Session, first, after)

    @field(description="Its shipments, newest first")
    async def shippings(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Shipping", strawberry.lazy("app.graphql.types.shipping")]]:
        from app.graphql.types.shipping import Shipping

        return await children(info, loaders.SHIPPINGS_OF_PROPOSALS, self.proposalId, Shipping, first, after)

    @field(description="Its proteins, newest first")
    async def proteins(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Protein", strawberry.lazy("app.graphql.types.samples")]]:
        from app.graphql.types.samples import Protein

        return await children(info, loaders.PROTEINS_OF_PROPOSALS, self.proposalId, Protein, first, after)

    @field(description="Its lab contacts, by card name")
    async def labContacts(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["LabContact", strawberry.lazy("app.graphql.types.labcontacts")]]:
        from app.graphql.types.labcontacts import LabContact

        return await children(info, loaders.LABCONTACTS_OF_PROPOSALS, self.proposalId, LabContact, first, after)


class OfProposal(Protocol):
    proposalId: int


async def proposal_of(root: OfProposal, info: Info) -> Proposal | None:
    """The proposal of an object that holds its id (a session, a protein, a shipment), if the caller sees it."""
    return await one(info, loaders.PROPOSALS, root.proposalId, Proposal)
