"""Session (a visit), with its data-collection groups and collections."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.graphql import document_edges, loaders
from app.graphql.connection import DEFAULT_FIRST, Connection, connection, page_of
from app.graphql.context import Context
from app.graphql.types import build, field
from app.graphql.types.datacollections import DataCollection, DataCollectionGroup

if TYPE_CHECKING:
    from app.graphql.documents.logbook import LogbookConnection
    from app.graphql.documents.metrics import SessionMetrics
    from app.graphql.types.proposals import Proposal

Info = strawberry.Info[Context, None]


@strawberry.federation.type(keys=["sessionId"], description="A session (a visit) on a beamline")
class Session:
    sessionId: int
    proposalId: int
    session: str | None = strawberry.field(description="`MX1-2`: proposal and visit number")
    proposal: str
    visit_number: int | None = strawberry.field(name="visit_number")
    startDate: datetime | None
    endDate: datetime | None
    beamLineName: str | None
    beamLineOperator: str | None
    scheduled: bool | None
    comments: str | None
    nbReimbDewars: int | None = strawberry.field(description="null where the database has no such column")

    @classmethod
    async def resolve_reference(cls, info: Info, sessionId: int) -> Self | None:
        row = await loaders.SESSIONS.one(info.context, loaders.reference_id(sessionId, "sessionId"))
        return None if row is None else build(cls, row)

    @field(name="Proposal", description="Its proposal")
    async def proposalOf(
        self, info: Info
    ) -> Annotated["Proposal", strawberry.lazy("app.graphql.types.proposals")] | None:
        from app.graphql.types.proposals import Proposal

        row = await loaders.PROPOSALS.one(info.context, self.proposalId)
        return None if row is None else build(Proposal, row)

    @field(description="Its data-collection groups, oldest first")
    async def dataCollectionGroups(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[DataCollectionGroup]:
        page = page_of(first, after)
        found = await loaders.GROUPS_OF_SESSIONS.page(info.context, self.sessionId, page)
        return connection(found.total, found.rows, page, lambda row: build(DataCollectionGroup, row))

    @field(description="Its data collections, oldest first")
    async def dataCollections(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[DataCollection]:
        page = page_of(first, after)
        found = await loaders.COLLECTIONS_OF_SESSIONS.page(info.context, self.sessionId, page)
        return connection(found.total, found.rows, page, lambda row: build(DataCollection, row))

    @field(description="Its metric statistics per kind, from rollups")
    async def metrics(
        self, info: Info
    ) -> Annotated["SessionMetrics", strawberry.lazy("app.graphql.documents.metrics")] | None:
        return await document_edges.session_metrics(info, self.sessionId)

    @field(description="Its logbook (each entry's latest version), newest first")
    async def logbook(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Annotated["LogbookConnection", strawberry.lazy("app.graphql.documents.logbook")] | None:
        return await document_edges.session_logbook(info, self.sessionId, first, after)
