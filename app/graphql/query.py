"""The root fields of the relational core: lists through the same functions as REST's lists (their filters where
natural), single objects by id. An object out of reach is null with a "not found" error at its path."""

import re
from typing import Any

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.containers import Container
from app.graphql.types.datacollections import DataCollection, DataCollectionGroup
from app.graphql.types.dewars import Dewar
from app.graphql.types.labcontacts import LabContact
from app.graphql.types.proposals import Proposal
from app.graphql.types.samples import BLSample, Protein
from app.graphql.types.sessions import Session
from app.graphql.types.shipping import Shipping
from app.routers.params import PROPOSAL_PATTERN
from relational import proposals, samples, sessions, shipping
from schemas.errors import InvalidInput, NotFound

Info = strawberry.Info[Context, None]


def _text(name: str, value: str | None, max_length: int) -> str | None:
    if value is not None and len(value) > max_length:
        raise InvalidInput(f"`{name}` must be at most {max_length} characters")
    return value


def _proposal(value: str | None) -> str | None:
    if value is not None and (len(value) > 60 or not re.match(PROPOSAL_PATTERN, value)):
        raise InvalidInput(f"`proposal` must be a proposal's name such as MX1, not `{value[:60]}`")
    return value


@strawberry.type
class RelationalQuery:
    @field(description="Proposals the caller may see, newest first (with `search`, the one of that name first)")
    async def proposals(
        self, info: Info, search: str | None = None, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Proposal]:
        page, c = page_of(first, after), info.context
        async with c.sql:
            total, rows = await proposals.get_proposals(
                c.db, c.identity.scope, page, search=_text("search", search, 100), groups=c.settings.beamline_groups
            )
        return connection(total, rows, page, lambda row: build(Proposal, row))

    @field(description="One proposal by name (`MX1`)")
    async def proposal(self, info: Info, proposal: str) -> Proposal | None:
        c = info.context
        async with c.sql:
            _, rows = await proposals.get_proposals(
                c.db, c.identity.scope, page_of(1, None), proposal=_proposal(proposal)
            )
        if not rows:
            raise NotFound(f"Proposal `{proposal}` not found")
        return build(Proposal, rows[0])

    @field(description="Sessions the caller may see, latest first (soonest first with `upcoming`)")
    async def sessions(
        self,
        info: Info,
        proposal: str | None = None,
        beamLineName: str | None = None,
        upcoming: bool = False,
        previous: bool = False,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[Session]:
        page, c = page_of(first, after), info.context
        beamline = _text("beamLineName", beamLineName, 45)
        async with c.sql:
            total, rows = await sessions.get_sessions(
                c.db,
                c.identity.scope,
                c.schema,
                page,
                proposal=_proposal(proposal),
                beamLineNames=None if beamline is None else [beamline],
                upcoming=upcoming,
                previous=previous,
                groups=c.settings.beamline_groups,
                counts=c.state.session_counts,
            )
        return connection(total, rows, page, lambda row: build(Session, row))

    @field(description="One session")
    async def session(self, info: Info, sessionId: int) -> Session | None:
        row = await loaders.SESSIONS.one(info.context, sessionId)
        if row is None:
            raise NotFound(f"Session {sessionId} not found")
        return build(Session, row)

    @field(description="One data-collection group")
    async def dataCollectionGroup(self, info: Info, dataCollectionGroupId: int) -> DataCollectionGroup | None:
        row = await loaders.GROUPS.one(info.context, dataCollectionGroupId)
        if row is None:
            raise NotFound(f"Data-collection group {dataCollectionGroupId} not found")
        return build(DataCollectionGroup, row)

    @field(description="One data collection")
    async def dataCollection(self, info: Info, dataCollectionId: int) -> DataCollection | None:
        row = await loaders.COLLECTIONS.one(info.context, dataCollectionId)
        if row is None:
            raise NotFound(f"Data collection {dataCollectionId} not found")
        return build(DataCollection, row)

    @field(description="Shipments the caller may see, newest first")
    async def shippings(
        self, info: Info, proposal: str | None = None, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Shipping]:
        page, c = page_of(first, after), info.context
        async with c.sql:
            total, rows = await shipping.get_shippings(c.db, c.identity.scope, page, proposal=_proposal(proposal))
        return connection(total, rows, page, Shipping.of)

    @field(description="One shipment")
    async def shipping(self, info: Info, shippingId: int) -> Shipping | None:
        row = await loaders.SHIPPINGS.one(info.context, shippingId)
        if row is None:
            raise NotFound(f"Shipment {shippingId} not found")
        return Shipping.of(row)

    @field(description="One dewar")
    async def dewar(self, info: Info, dewarId: int) -> Dewar | None:
        row = await loaders.DEWARS.one(info.context, dewarId)
        if row is None:
            raise NotFound(f"Dewar {dewarId} not found")
        return build(Dewar, row)

    @field(description="One container")
    async def container(self, info: Info, containerId: int) -> Container | None:
        row = await loaders.CONTAINERS.one(info.context, containerId)
        if row is None:
            raise NotFound(f"Container {containerId} not found")
        return build(Container, row)

    @field(description="Samples the caller may see, newest first")
    async def samples(
        self,
        info: Info,
        proposal: str | None = None,
        containerId: int | None = None,
        proteinId: int | None = None,
        search: str | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[BLSample]:
        page, c = page_of(first, after), info.context
        async with c.sql:
            total, rows = await samples.get_samples(
                c.db,
                c.identity.scope,
                page,
                proposal=_proposal(proposal),
                containerId=containerId,
                proteinId=proteinId,
                search=_text("search", search, 100),
            )
        return connection(total, rows, page, lambda row: build(BLSample, _flat_sample(row)))

    @field(description="One sample")
    async def sample(self, info: Info, blSampleId: int) -> BLSample | None:
        row = await loaders.SAMPLES.one(info.context, blSampleId)
        if row is None:
            raise NotFound(f"Sample {blSampleId} not found")
        return build(BLSample, row)

    @field(description="Proteins the caller may see, newest first")
    async def proteins(
        self,
        info: Info,
        proposal: str | None = None,
        search: str | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[Protein]:
        page, c = page_of(first, after), info.context
        async with c.sql:
            total, rows = await samples.get_proteins(
                c.db, c.identity.scope, page, proposal=_proposal(proposal), search=_text("search", search, 100)
            )
        return connection(total, rows, page, lambda row: build(Protein, row))

    @field(description="One protein")
    async def protein(self, info: Info, proteinId: int) -> Protein | None:
        row = await loaders.PROTEINS.one(info.context, proteinId)
        if row is None:
            raise NotFound(f"Protein {proteinId} not found")
        return build(Protein, row)

    @field(description="One lab contact")
    async def labContact(self, info: Info, labContactId: int) -> LabContact | None:
        row = await loaders.LABCONTACTS.one(info.context, labContactId)
        if row is None:
            raise NotFound(f"Lab contact {labContactId} not found")
        return LabContact.of(row)


def _flat_sample(row: dict[str, Any]) -> dict[str, Any]:
    """A sample as the REST list nests it, flattened back to BLSample's fields."""
    crystal, plan = row["Crystal"], row["DiffractionPlan"]
    ids = {"crystalId": crystal["crystalId"], "proteinId": crystal["Protein"]["proteinId"]}
    return row | ids | {"diffractionPlanId": plan["diffractionPlanId"]}
