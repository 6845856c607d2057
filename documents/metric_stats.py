"""The reads behind metric statistics (``app/services/metric_stats.py``): rollups and raw metric values of the
sessions, proposal and hours a statistic covers, within the caller's scope."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from documents import rollups
from documents.store import guarded

Db = AsyncDatabase[dict[str, Any]]


@dataclass(frozen=True)
class Coverage:
    """Which metrics a statistic covers: the ``sessions`` asked for (a session or a beamline's, already limited
    to those the caller reaches; None: not narrowed by session), a proposal, and hours from ``start`` (a whole
    hour) to before ``end``. Without sessions, ``scope`` (the caller's filter, ``documents/scope.py``) keeps out
    the sessions of a proposal the caller does not reach."""

    scope: dict[str, Any]
    sessions: Sequence[int] | None = None
    proposal_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    def _sessions(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.sessions is not None:
            query["sessionId"] = {"$in": list(self.sessions)}
        if self.proposal_id is not None:
            query["proposalId"] = self.proposal_id
        if self.sessions is None and self.scope:
            query["$and"] = [self.scope]
        return query

    def _hours(self) -> dict[str, datetime]:
        return {k: v for k, v in (("$gte", self.start), ("$lt", self.end)) if v is not None}

    def rollups(self) -> dict[str, Any]:
        """The filter of the rollups: by session and hour."""
        hours = self._hours()
        return self._sessions() | ({"hour": hours} if hours else {})

    def metrics(self) -> dict[str, Any]:
        """The filter of the raw metrics: by session and time of creation."""
        hours = self._hours()
        return self._sessions() | ({"createdAt": hours} if hours else {})


async def rollups_of(db: Db, coverage: Coverage, kind: str, field: str | Sequence[str]) -> list[dict[str, Any]]:
    """The rollups of ``kind``'s ``field`` (or of each of several fields) that ``coverage`` covers, by hour."""
    wanted = field if isinstance(field, str) else {"$in": list(field)}
    return await rollups.read(db, coverage.rollups() | {"kind": kind, "field": wanted})


@guarded
async def values_of(db: Db, coverage: Coverage, kind: str, field: str) -> list[dict[str, Any]]:
    """``createdAt`` and ``values.<field>`` of the metrics of ``kind`` holding the field that ``coverage`` covers."""
    query = coverage.metrics() | {"kind": kind, f"values.{field}": {"$exists": True}}
    return [d async for d in db.metrics.find(query, {"_id": 0, "createdAt": 1, f"values.{field}": 1})]


async def of_session(db: Db, session_id: int, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """The rollups of one session's metrics of ``kinds``, by hour."""
    return await rollups.read(db, {"sessionId": session_id, "kind": {"$in": list(kinds)}})
