"""The root fields of the relational core: lists through the same functions as REST's lists (their filters where
natural), single objects by id. An object out of reach is null with a "not found" error at its path."""

import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import strawberry

from app.graphql import loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.loaders import Objects
from app.graphql.types import Info, Row, build, field, one
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
from relational.common import Page
from schemas.errors import InvalidInput, NotFound

T = TypeVar("T")
#: a REST list's read: (how many the caller may see in all, the rows of ``page``)
Read = Callable[[Context, Page], Awaitable[tuple[int, list[Row]]]]


def _text(name: str, value: str | None, max_length: int) -> str | None:
    if value is not None and len(value) > max_length:
        raise InvalidInput(f"`{name}` must be at most {max_length} characters")
    return value


def _proposal(value: str | None) -> str | None:
    if value is not None and (len(value) > 60 or not re.match(PROPOSAL_PATTERN, value)):
        raise InvalidInput(f"`proposal` must be a proposal's name such as MX1, not `{value[:60]}`")
    return value


async def _listed(info: Info, page: Page, kind: type[T], read: Read) -> Connection[T]:
    """The connection of REST's list ``read`` at ``page``, each row an object of ``kind``."""
    async with info.context.sql:
        total, rows = await read(info.context, page)
    return connection(total, rows, page, partial(build, kind))


async def _found(info: Info, loader: Objects, key: int, kind: type[T], what: str) -> T:
    """The object of ``kind`` with id ``key``; NotFound naming ``what`` when absent or out of reach."""
    found = await one(info, loader, key, kind)
    if found is None:
        raise NotFound(f"{what} not found")
    return found


@strawberry.type
class RelationalQuery:
    @field(description="Proposals the caller may see, newest first (with `search`, the one of that name first)")
    async def proposals(
        self, info: Info, search: str | None = None, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Proposal]:
        page, text = page_of(first, after), _text("search", search, 100)
        groups = info.context.settings.beamline_groups
        return await _listed(
            info,
            page,
            Proposal,
            lambda c, p: proposals.get_proposals(c.db, c.identity.scope, p, search=text, groups=groups),
        )

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
        page, beamline, name = page_of(first, after), _text("beamLineName", beamLineName, 45), _proposal(proposal)

        def read(c: Context, p: Page) -> Awaitable[tuple[int, list[Row]]]:
            return sessions.get_sessions(
                c.db,
                c.identity.scope,
                c.schema,
                p,
                proposal=name,
                beamLineNames=None if beamline is None else [beamline],
                upcoming=upcoming,
                previous=previous,
                groups=c.settings.beamline_groups,
                counts=c.state.session_counts,
            )

        return await _listed(info, page, Session, read)

    @field(description="One session")
    async def session(self, info: Info, sessionId: int) -> Session | None:
        return await _found(info, loaders.SESSIONS, sessionId, Session, f"Session {sessionId}")

    @field(description="One data-collection group")
    async def dataCollectionGroup(self, info: Info, dataCollectionGroupId: int) -> DataCollectionGroup | None:
        what = f"Data-collection group {dataCollectionGroupId}"
        return await _found(info, loaders.GROUPS, dataCollectionGroupId, DataCollectionGroup, what)

    @field(description="One data collection")
    async def dataCollection(self, info: Info, dataCollectionId: int) -> DataCollection | None:
        what = f"Data collection {dataCollectionId}"
        return await _found(info, loaders.COLLECTIONS, dataCollectionId, DataCollection, what)

    @field(description="Shipments the caller may see, newest first")
    async def shippings(
        self, info: Info, proposal: str | None = None, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[Shipping]:
        page, name = page_of(first, after), _proposal(proposal)
        return await _listed(
            info, page, Shipping, lambda c, p: shipping.get_shippings(c.db, c.identity.scope, p, proposal=name)
        )

    @field(description="One shipment")
    async def shipping(self, info: Info, shippingId: int) -> Shipping | None:
        return await _found(info, loaders.SHIPPINGS, shippingId, Shipping, f"Shipment {shippingId}")

    @field(description="One dewar")
    async def dewar(self, info: Info, dewarId: int) -> Dewar | None:
        return await _found(info, loaders.DEWARS, dewarId, Dewar, f"Dewar {dewarId}")

    @field(description="One container")
    async def container(self, info: Info, containerId: int) -> Container | None:
        return await _found(info, loaders.CONTAINERS, containerId, Container, f"Container {containerId}")

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
        page, name, text = page_of(first, after), _proposal(proposal), _text("search", search, 100)

        async def read(c: Context, p: Page) -> tuple[int, list[Row]]:
            total, rows = await samples.get_samples(
                c.db, c.identity.scope, p, proposal=name, containerId=containerId, proteinId=proteinId, search=text
            )
            return total, [_flat_sample(row) for row in rows]

        return await _listed(info, page, BLSample, read)

    @field(description="One sample")
    async def sample(self, info: Info, blSampleId: int) -> BLSample | None:
        return await _found(info, loaders.SAMPLES, blSampleId, BLSample, f"Sample {blSampleId}")

    @field(description="Proteins the caller may see, newest first")
    async def proteins(
        self,
        info: Info,
        proposal: str | None = None,
        search: str | None = None,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[Protein]:
        page, name, text = page_of(first, after), _proposal(proposal), _text("search", search, 100)
        return await _listed(
            info,
            page,
            Protein,
            lambda c, p: samples.get_proteins(c.db, c.identity.scope, p, proposal=name, search=text),
        )

    @field(description="One protein")
    async def protein(self, info: Info, proteinId: int) -> Protein | None:
        return await _found(info, loaders.PROTEINS, proteinId, Protein, f"Protein {proteinId}")

    @field(description="One lab contact")
    async def labContact(self, info: Info, labContactId: int) -> LabContact | None:
        return await _found(info, loaders.LABCONTACTS, labContactId, LabContact, f"Lab contact {labContactId}")


def _flat_sample(row: dict[str, Any]) -> dict[str, Any]:
    """A sample as the REST list nests it, flattened back to BLSample's fields."""
    crystal, plan = row["Crystal"], row["DiffractionPlan"]
    ids = {"crystalId": crystal["crystalId"], "proteinId": crystal["Protein"]["proteinId"]}
    return row | ids | {"diffractionPlanId": plan["diffractionPlanId"]}
