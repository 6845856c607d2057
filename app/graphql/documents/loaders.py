"""The request's batch loaders over the document store: each level of a query costs one round trip per loader,
whatever the number of its parents, always within the caller's document scope (``Context.document_scope``)."""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar, cast

import strawberry
from strawberry.dataloader import DataLoader

from app.graphql.context import Context
from app.services import exports, metric_stats
from documents import batched, logbook, rollups, scope
from documents.store import StoreUnavailable
from schemas.best_result import BestResult
from schemas.errors import DomainError, InvalidInput
from schemas.logbook import EntryFilters

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Doc = dict[str, Any]
LATEST = "documents.latest_results"
LogbookKey = tuple[int, int, str | None]  #: sessionId, first, after
LogbookPage = tuple[list[Doc], str | None]  #: the entries, the next page's cursor


def _loader(context: Context, name: str, read: Callable[[Context, list[K]], Awaitable[dict[K, V]]]) -> DataLoader[K, V]:
    """The request's loader ``name``, which answers a batch of keys with one ``read``."""

    async def load(keys: list[K]) -> Sequence[V]:
        found = await read(context, keys)
        return [found[key] for key in keys]

    return context.loader(name, load)


def _load(
    info: strawberry.Info, name: str, read: Callable[[Context, list[K]], Awaitable[dict[K, V]]]
) -> Callable[[K], Awaitable[V]]:
    """``key → value`` through the request's loader ``name``."""
    return _loader(info.context, name, read).load


async def _latest(context: Context, dc_ids: list[int]) -> dict[int, list[Doc]]:
    store = await context.documents.ready()
    return await batched.latest_results(store, await context.document_scope(), dc_ids)


async def _versions(context: Context, series: list[str]) -> dict[str, list[Doc]]:
    store = await context.documents.ready()
    return await batched.versions(store, await context.document_scope(), series)


async def _summaries(context: Context, dc_ids: list[int]) -> dict[int, list[Doc]]:
    store = await context.documents.ready()
    return await batched.metric_summaries(store, await context.document_scope(), dc_ids)


async def _best(context: Context, dc_ids: list[int]) -> dict[int, BestResult]:
    """REST's best result, its document candidates read through the request's loader of latest results (within
    the caller's scope; none while the store is down, as REST does)."""
    try:
        latest = await _loader(context, LATEST, _latest).load_many(dc_ids)
    except StoreUnavailable:
        latest = [[] for _ in dc_ids]
    async with context.sql:
        oldest_first = {dc: docs[::-1] for dc, docs in zip(dc_ids, latest, strict=True)}  # REST's candidate order
        return await exports.best_results(context.db, context.documents, dc_ids, oldest_first)


async def best_result(info: strawberry.Info, dc_id: int) -> BestResult:
    """EXI's choice among SQL auto-processing and document results of a data collection (the caller sees)."""
    return await _load(info, "documents.best_results", _best)(dc_id)


async def latest_results(info: strawberry.Info, dc_id: int) -> list[Doc]:
    """The latest version of every series covering a data collection, newest first."""
    return await _load(info, LATEST, _latest)(dc_id)


async def versions(info: strawberry.Info, series: str) -> list[Doc]:
    """Every version of a series, oldest first."""
    return await _load(info, "documents.versions", _versions)(series)


async def metric_summaries(info: strawberry.Info, dc_id: int) -> list[Doc]:
    """Per kind of a data collection's metrics: count, and count/mean/median of each numeric field."""
    return await _load(info, "documents.metric_summaries", _summaries)(dc_id)


async def _session_stats(context: Context, keys: list[tuple[int, str]]) -> dict[tuple[int, str], Doc | DomainError]:
    kinds: dict[str, dict[str, tuple[float, float]] | DomainError] = {}
    for kind in sorted({kind for _, kind in keys}):
        try:
            kinds[kind] = await metric_stats.field_bins(context.documents, kind, None)
        except InvalidInput as exc:
            kinds[kind] = exc
    binned = {kind: bins for kind, bins in kinds.items() if not isinstance(bins, DomainError)}
    store = await context.documents.ready()
    rows = await batched.session_rollups(store, await context.document_scope(), [s for s, _ in keys], list(binned))
    grouped: dict[tuple[int, str, str], list[Doc]] = defaultdict(list)
    for row in rows:
        grouped[row["sessionId"], row["kind"], row["field"]].append(row)
    found: dict[tuple[int, str], Doc | DomainError] = {}
    for session, kind in keys:
        bins = kinds[kind]
        found[session, kind] = (
            bins
            if isinstance(bins, DomainError)
            else {
                "kind": kind,
                "fields": {
                    name: metric_stats.field_stats(rollups.merge(grouped[session, kind, name]), *bins[name])
                    for name in sorted(bins)
                },
            }
        )
    return found


async def session_stats(info: strawberry.Info, session_id: int, kind: str) -> Doc:
    """A session's metrics of ``kind`` from rollups, as ``GET /stats/metrics/summary?sessionId=&kind=`` answers:
    per field with fixed bins, count, mean, min, max and p10/p50/p90; an unknown kind is an InvalidInput."""
    found = await _load(info, "documents.session_stats", _session_stats)((session_id, kind))
    return cast(Doc, found)  # the loader raises the DomainError it is given


async def _logbook_scope(context: Context) -> Doc:
    return scope.logbook(await context.document_scope(), context.identity.scope.beamlines)


async def _logbook_pages(context: Context, keys: list[LogbookKey]) -> dict[LogbookKey, LogbookPage | DomainError]:
    """Each page through REST's read (``documents.logbook.find``: its time windows, text budget and time limit),
    the pages of one level at once."""
    store = await context.documents.ready()
    seen = await _logbook_scope(context)
    max_ms = context.settings.query_max_time_ms

    async def page(key: LogbookKey) -> LogbookPage | DomainError:
        session, first, after = key
        try:
            return await logbook.find(
                store, seen, EntryFilters(sessionId=session), cursor=after, limit=first, max_ms=max_ms
            )
        except InvalidInput as exc:
            return exc

    unique = list(dict.fromkeys(keys))
    return dict(zip(unique, await asyncio.gather(*map(page, unique)), strict=True))


async def _logbook_versions(context: Context, entry_ids: list[str]) -> dict[str, list[Doc]]:
    store = await context.documents.ready()
    return await batched.logbook_versions(store, await _logbook_scope(context), entry_ids)


async def logbook_page(info: strawberry.Info, session_id: int, first: int, after: str | None) -> LogbookPage:
    """A page of a session's logbook the caller sees, newest first, and the next page's cursor (None: the last)."""
    found = await _load(info, "documents.logbook_pages", _logbook_pages)((session_id, first, after))
    return cast(LogbookPage, found)  # the loader raises the DomainError it is given


async def logbook_versions(info: strawberry.Info, entry_id: str) -> list[Doc]:
    """Every version of a logbook entry the caller sees, oldest first (none: out of reach)."""
    return await _load(info, "documents.logbook_versions", _logbook_versions)(entry_id)
