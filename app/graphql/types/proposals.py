"""Proposal, with its sessions, shipments, proteins and lab contacts."""

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field

if TYPE_CHECKING:
    from app.graphql.types.labcontacts import LabContact
    from app.graphql.types.samples import Protein
    from app.graphql.types.sessions import Session
    from app.graphql.types.shipping import Shipping

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["proposalId"], description="A proposal (code and number name it: `MX1`)")
class Proposal:
    proposalId: int
    proposalCode: str
    proposalNumber: str
    proposal: str
    title: str
    state: str | None

    @classmethod
    async def resolve_reference(cls, info: Info, proposalId: int) -> Self | None:
        row = await loaders.PROPOSALS.one(info.context, loaders.reference_id(proposalId, "proposalId"))
        return None if row is None else build(cls, row)

    @field(description="Its sessions the caller sees, latest first")
    async def sessions(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Session", strawberry.lazy("app.graphql.types.sessions")]]:
        from app.graphql.types.sessions import Session

        page = page_of(first, after)
        found = await loaders.SESSIONS_OF_PROPOSALS.page(info.context, self.proposalId, page)
        return connection(found.total, found.rows, page, lambda row: build(Session, row))

    @field(description="Its shipments, newest first")
    async def shippings(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Shipping", strawberry.lazy("app.graphql.types.shipping")]]:
        from app.graphql.types.shipping import Shipping

        page = page_of(first, after)
        found = await loaders.SHIPPINGS_OF_PROPOSALS.page(info.context, self.proposalId, page)
        return connection(found.total, found.rows, page, lambda row: build(Shipping, row))

    @field(description="Its proteins, newest first")
    async def proteins(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["Protein", strawberry.lazy("app.graphql.types.samples")]]:
        from app.graphql.types.samples import Protein

        page = page_of(first, after)
        found = await loaders.PROTEINS_OF_PROPOSALS.page(info.context, self.proposalId, page)
        return connection(found.total, found.rows, page, lambda row: build(Protein, row))

    @field(description="Its lab contacts, by card name")
    async def labContacts(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Annotated["LabContact", strawberry.lazy("app.graphql.types.labcontacts")]]:
        from app.graphql.types.labcontacts import LabContact

        page = page_of(first, after)
        found = await loaders.LABCONTACTS_OF_PROPOSALS.page(info.context, self.proposalId, page)
        return connection(found.total, found.rows, page, LabContact.of)
