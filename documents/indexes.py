"""Indexes declared in code, ensured at start-up. Every document carries ``proposalId`` (scoping) and
references SQL rows by id."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

_T = TypeVar("_T")
#: MongoDB's error code for a hint naming no index of the collection (among other bad values)
_BAD_VALUE = 2

HAS_KEY = {"idempotencyKey": {"$exists": True}}
#: results by collection, named where queries hint it: SecantusDB's planner scans the whole collection for a
#: collection's latest results without the hint (MongoDB's picks this index)
RESULTS_BY_COLLECTION = "dc_kind"
#: metrics stored but not yet folded into the rollups
UNFOLDED = "unfolded"

INDEXES: dict[str, list[IndexModel]] = {
    # used one-time download tokens (documents/signed.py), dropped once they expire
    "signed_urls": [IndexModel([("expiresAt", ASCENDING)], name="expiry", expireAfterSeconds=0)],
    "results": [
        IndexModel([("proposalId", ASCENDING), ("dataCollectionIds", ASCENDING)], name="proposal_dc"),
        IndexModel([("sessionIds", ASCENDING), ("kind", ASCENDING)], name="session_kind"),
        # a session's timeline (documents/timeline.py): its latest results in time slices, scoped flat by proposal
        IndexModel(
            [("latest", ASCENDING), ("sessionIds", ASCENDING), ("proposalId", ASCENDING), ("createdAt", DESCENDING)],
            name="session_created",
        ),
        IndexModel(
            [("dataCollectionIds", ASCENDING), ("kind", ASCENDING), ("version", DESCENDING)], name=RESULTS_BY_COLLECTION
        ),
        # one version number per series: concurrent re-runs cannot both become version N
        IndexModel([("series", ASCENDING), ("version", DESCENDING)], name="series_version", unique=True),
        # a retried POST (same Idempotency-Key or runId, same caller) cannot store a second document
        IndexModel([("idempotencyKey", ASCENDING)], name="idempotency", unique=True, partialFilterExpression=HAS_KEY),
    ],
    "metrics": [
        IndexModel([("proposalId", ASCENDING), ("kind", ASCENDING)], name="proposal_kind"),
        IndexModel([("dataCollectionId", ASCENDING), ("kind", ASCENDING)], name="dc_kind"),
        IndexModel([("sessionId", ASCENDING), ("kind", ASCENDING)], name="session_kind"),
        IndexModel([("idempotencyKey", ASCENDING)], name="idempotency", unique=True, partialFilterExpression=HAS_KEY),
        # metrics stored but not yet folded into the rollups (documents/rollups.py): few, found fast
        IndexModel([("fold", ASCENDING)], name=UNFOLDED, partialFilterExpression={"fold": {"$exists": True}}),
    ],
    "kinds": [IndexModel([("kind", ASCENDING)], name="kind", unique=True)],
    # Idempotency-Keys of acquisition writes (documents/idempotency.py; the key is the _id): gone once expired
    "idempotency": [IndexModel([("expiresAt", ASCENDING)], name="expiry", expireAfterSeconds=0)],
    # one rollup per session, kind, field and hour (documents/rollups.py)
    "rollups": [
        IndexModel(
            [("sessionId", ASCENDING), ("kind", ASCENDING), ("field", ASCENDING), ("hour", ASCENDING)],
            name="session_field_hour",
            unique=True,
        ),
        IndexModel([("proposalId", ASCENDING), ("kind", ASCENDING), ("field", ASCENDING)], name="proposal_field"),
    ],
    # refresh tokens and their families go once expired (documents/refresh_tokens.py); API keys stay listed
    "refresh_tokens": [IndexModel([("expiresAt", ASCENDING)], name="expiry", expireAfterSeconds=0)],
    "refresh_families": [IndexModel([("expiresAt", ASCENDING)], name="expiry", expireAfterSeconds=0)],
    "api_keys": [IndexModel([("createdAt", DESCENDING)], name="created")],
    # logbook entries, one document per version (documents/logbook.py): pages of a session, a beamline or all,
    # newest first; one version number per entry (two correctors cannot both write version N); one version N per SQL row
    # (two sync-faults runs cannot both copy a fault)
    "logbook": [
        IndexModel([("latest", ASCENDING), ("sessionId", ASCENDING), ("time", DESCENDING)], name="session_time"),
        IndexModel([("latest", ASCENDING), ("beamLineName", ASCENDING), ("time", DESCENDING)], name="beamline_time"),
        # a session's timeline, scoped flat by proposal (documents/timeline.py; SecantusDB plans with an index only a
        # filter naming exactly its fields, so session_time does not serve it)
        IndexModel(
            [("latest", ASCENDING), ("sessionId", ASCENDING), ("proposalId", ASCENDING), ("time", DESCENDING)],
            name="session_scope_time",
        ),
        IndexModel([("latest", ASCENDING), ("time", DESCENDING)], name="latest_time"),
        IndexModel([("entryId", ASCENDING), ("version", ASCENDING)], name="entry_version", unique=True),
        IndexModel(
            [("source.table", ASCENDING), ("source.id", ASCENDING), ("version", ASCENDING)],
            name="source_version",
            unique=True,
            partialFilterExpression={"source": {"$exists": True}},
        ),
    ],
}


async def hinted(index: str, read: Callable[[str | None], Awaitable[_T]]) -> _T:
    """``read(index)``, a read that names ``index`` as its hint; again as ``read(None)`` when the store refuses the
    hint because the index is missing (not created yet, the store being down at start-up; dropped by an operator):
    a scan is slower, not wrong."""
    try:
        return await read(index)
    except OperationFailure as exc:
        if exc.code != _BAD_VALUE:
            raise
        return await read(None)
