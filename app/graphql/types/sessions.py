"""Session (a visit), with its data-collection groups and collections."""

from typing import TYPE_CHECKING, Annotated

import strawberry

from app.graphql import document_edges, loaders
from app.graphql.connection import DEFAULT_FIRST, Connection
from app.graphql.types import Info, children, field, rest_type
from app.graphql.types.datacollections import DataCollection, DataCollectionGroup
from app.graphql.types.proposals import proposal_of
from schemas import sessions

if TYPE_CHECKING:
    from app.graphql.documents.logbook import LogbookConnection
    from app.graphql.documents.metrics import SessionMetrics


@rest_type(
    sessions.Session,
    without=("BeamLineSetup", "metadata"),
    key="sessionId",
    loader=loaders.SESSIONS,
    description="A session (a visit) on a beamline",
)
class Session:
    sessionId: int

    proposalOf = strawberry.field(resolver=proposal_of, name="Proposal", description="Its proposal")

    @field(description="Its data-collection groups, oldest first")
    async def dataCollectionGroups(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[DataCollectionGroup]:
        return await children(info, loaders.GROUPS_OF_SESSIONS, self.sessionId, DataCollectionGroup, first, after)

    @field(description="Its data collections, oldest first")
    async def dataCollections(
        self, info: Info, first: int = DEFAULT_FIRST, after: str | None = None
    ) -> Connection[DataCollection]:
        return await children(info, loaders.COLLECTIONS_OF_SESSIONS, self.sessionId, DataCollection, first, after)

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
