"""The document store's part of the graph: the edges from data collections and sessions to their documents
(results, metric summaries, the logbook), and the root fields over documents (``DocumentQuery``). Each edge goes
through a batch loader (one round trip per level); each read is scoped like REST's (``documents/scope.py`` from
``app.deps.document_scope``: the proposals and sessions REST's checks use). Out of reach, or the store down: the
field is null with an error at its path."""

from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import StringConstraints, TypeAdapter, ValidationError

from app.deps import MAX_LIMIT
from app.graphql.connection import DEFAULT_FIRST, Connection, PageInfo, connection, page_of
from app.graphql.context import Context
from app.graphql.documents import loaders
from app.graphql.documents.best import BestResult
from app.graphql.documents.logbook import LogbookConnection, LogbookEntry
from app.graphql.documents.metrics import CollectionMetrics, SessionMetrics
from app.graphql.documents.results import Result
from app.graphql.documents.stats import Histogram, Interval, SessionStatistics, TimeSeries
from app.routers.params import MAX_ID, PROPOSAL_PATTERN
from app.services import metric_stats
from documents import results as stored_results
from documents.metric_stats import Coverage
from documents.scope import of_proposal
from relational.reach import proposal_id_by_name
from schemas.errors import InvalidInput, NotFound
from schemas.results import Kind, Status
from schemas.times import as_utc

T = TypeVar("T")
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
Cursor = Annotated[str, StringConstraints(max_length=200)]
Proposal = Annotated[str, StringConstraints(pattern=PROPOSAL_PATTERN, max_length=60)]
Field = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
Program = Annotated[str, StringConstraints(max_length=100)]
BeamLine = Annotated[str, StringConstraints(max_length=45)]
#: REST's ``from`` and ``to`` (naive means UTC)
From = Annotated[datetime | None, strawberry.argument(name="from", description="Naive means UTC")]
To = Annotated[datetime | None, strawberry.argument(name="to", description="Naive means UTC")]


HISTOGRAM = (
    "Counts per bin of one metric field, from rollups (REST's GET /stats/metrics/histogram): the field's fixed bins "
    "merged binWidth at a time, or into at most `bins` bins"
)


def _valid(kind: Any, name: str, value: T) -> T:
    """``value`` checked as REST checks the same parameter; an InvalidInput naming the argument otherwise."""
    try:
        checked: T = TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(f"`{name}`: {exc.errors()[0]['msg']}") from None
    return checked


def _id(name: str, value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_ID:
        raise InvalidInput(f"`{name}` must be between 1 and {MAX_ID}")
    return value


async def collection_results(info: strawberry.Info, data_collection_id: int) -> list[Result] | None:
    """A data collection's results: the latest version of every series covering it, newest first."""
    return [Result.of(doc) for doc in await loaders.latest_results(info, data_collection_id)]


async def collection_best_result(info: strawberry.Info, data_collection_id: int) -> BestResult | None:
    """A data collection's best MX processing (SQL auto-processing and document results, REST's rule)."""
    return BestResult.of(await loaders.best_result(info, data_collection_id))


async def collection_metrics(info: strawberry.Info, data_collection_id: int) -> CollectionMetrics:
    """A data collection's metric summaries per kind (each kind read when asked for)."""
    return CollectionMetrics(dataCollectionId=data_collection_id)


async def session_metrics(info: strawberry.Info, session_id: int) -> SessionMetrics:
    """A session's metric statistics per kind, from rollups (each kind read when asked for)."""
    return SessionMetrics(sessionId=session_id)


async def session_logbook(
    info: strawberry.Info, session_id: int, first: int = DEFAULT_FIRST, after: str | None = None
) -> LogbookConnection:
    """A page of a session's logbook (latest versions), newest first; ``after``: the previous page's endCursor."""
    if not 1 <= first <= MAX_LIMIT:
        raise InvalidInput(f"`first` must be between 1 and {MAX_LIMIT}, not {first}")
    rows, following = await loaders.logbook_page(info, session_id, first, _valid(Cursor | None, "after", after))
    page = PageInfo(
        hasNextPage=following is not None, hasPreviousPage=after is not None, startCursor=None, endCursor=following
    )
    return LogbookConnection(nodes=[LogbookEntry.of(doc) for doc in rows], pageInfo=page)


async def _metrics_where(
    context: Context,
    session_id: int | None,
    proposal: str | None,
    beamline: str | None,
    start: datetime | None,
    end: datetime | None,
) -> Coverage:
    """Which metrics a statistic covers, within the caller's reach: REST's ``covered_metrics``."""
    async with context.sql:
        return await metric_stats.covered_metrics(
            context.db,
            context.identity,
            sessionId=_id("sessionId", session_id),
            proposal=_valid(Proposal | None, "proposal", proposal),
            beamLineName=_valid(BeamLine | None, "beamLineName", beamline),
            start=as_utc(start) if start else None,
            end=as_utc(end) if end else None,
        )


@strawberry.type
class DocumentQuery:
    """Root fields over the document store."""

    @strawberry.field(description="One result (any version); null with an error when out of reach")
    async def result(self, info: strawberry.Info, resultId: strawberry.ID) -> Result | None:
        context: Context = info.context
        checked = _valid(ObjectId, "resultId", str(resultId))
        store = await context.documents.ready()
        found = await stored_results.get(store, checked, await context.document_scope())
        if found is None:
            raise NotFound(f"Result {checked} not found")
        return Result.of(found)

    @strawberry.field(description="Results the caller may see, newest first; the latest version of each series "
                      "unless allVersions (REST's GET /results)")  # fmt: skip
    async def results(
        self,
        info: strawberry.Info,
        dataCollectionId: int | None = None,
        sessionId: int | None = None,
        proposal: str | None = None,
        kind: str | None = None,
        program: str | None = None,
        status: Status | None = None,
        allVersions: bool = False,
        first: int = DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[Result] | None:
        context: Context = info.context
        page = page_of(first, after)
        scope = await context.document_scope()
        if (name := _valid(Proposal | None, "proposal", proposal)) is not None:
            async with context.sql:
                scope = of_proposal(scope, await proposal_id_by_name(context.db, context.identity.scope, name))
        total, _estimate, rows = await stored_results.find(
            await context.documents.ready(),
            scope,
            dc_id=_id("dataCollectionId", dataCollectionId),
            session_id=_id("sessionId", sessionId),
            kind=_valid(Kind | None, "kind", kind),
            program=_valid(Program | None, "program", program),
            status=status,
            all_versions=allVersions,
            skip=page.skip,
            limit=page.limit,
            count_ms=context.settings.mongo_count_timeout_ms,
        )
        return connection(total, rows, page, Result.of)

    @strawberry.field(description="A logbook entry's latest version, with every version; null with an error "
                      "when out of reach (REST's GET /logbook/{entryId})")  # fmt: skip
    async def logbookEntry(self, info: strawberry.Info, entryId: strawberry.ID) -> LogbookEntry | None:
        checked = _valid(ObjectId, "entryId", str(entryId))
        found = await loaders.logbook_versions(info, checked)
        if not found:
            raise NotFound(f"Logbook entry {checked} not found")
        return LogbookEntry.of(found[-1])

    @strawberry.field(description=HISTOGRAM)
    async def metricHistogram(
        self,
        info: strawberry.Info,
        kind: str,
        field: str,
        sessionId: int | None = None,
        proposal: str | None = None,
        beamLineName: str | None = None,
        start: From = None,
        end: To = None,
        bins: int | None = None,
        binWidth: float | None = None,
    ) -> Histogram | None:
        if bins is not None and not 1 <= bins <= metric_stats.MAX_BINS:
            raise InvalidInput(f"`bins` must be between 1 and {metric_stats.MAX_BINS}")
        if binWidth is not None and not 0 < binWidth <= metric_stats.MAX_BIN_WIDTH:
            raise InvalidInput(f"`binWidth` must be over 0 and at most {metric_stats.MAX_BIN_WIDTH:g}")
        kind, field = _valid(Kind, "kind", kind), _valid(Field, "field", field)
        where = await _metrics_where(info.context, sessionId, proposal, beamLineName, start, end)
        return Histogram.of(await metric_stats.histogram(info.context.documents, where, kind, field, bins, binWidth))

    @strawberry.field(description="One metric field per minute, hour or day (REST's GET /stats/metrics/timeseries)")
    async def metricTimeSeries(
        self,
        info: strawberry.Info,
        kind: str,
        field: str,
        interval: Interval = Interval.hour,
        sessionId: int | None = None,
        proposal: str | None = None,
        beamLineName: str | None = None,
        start: From = None,
        end: To = None,
    ) -> TimeSeries | None:
        kind, field = _valid(Kind, "kind", kind), _valid(Field, "field", field)
        where = await _metrics_where(info.context, sessionId, proposal, beamLineName, start, end)
        found = await metric_stats.timeseries(info.context.documents, where, kind, field, interval.value)
        return TimeSeries.of(found)

    @strawberry.field(description="A session's collections per technique and the share processed: auto-processed, "
                      "motion-corrected, CTF-estimated (REST's GET /stats/sessions/{sessionId})")  # fmt: skip
    async def sessionStatistics(self, info: strawberry.Info, sessionId: int) -> SessionStatistics | None:
        context: Context = info.context
        _id("sessionId", sessionId)
        async with context.sql:
            found = await metric_stats.session_stats(context.db, context.documents, context.identity, sessionId)
        return SessionStatistics.of(found)
