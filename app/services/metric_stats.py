"""Metric aggregations for dashboards, read from rollups (documents/rollups.py) within the caller's scope.

Scopes: one session, a proposal, a beamline (its visible sessions), or everything visible; optionally a time
range, at hour resolution (rollups are hourly). Hourly and daily time series come from rollups; minute series
are computed from the raw metrics and need a session or a range of at most a day.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app.deps import Identity, document_scope
from documents import rollups
from documents.kinds import bins_of, get_kind
from documents.metric_stats import Coverage, of_session, rollups_of, values_of
from documents.store import DocumentStore
from relational import stats
from relational.reach import proposal_id_by_name, sessions_reached
from relational.read_sessions import ReadSession
from schemas.errors import InvalidInput, NotFound
from schemas.times import as_utc

MAX_BINS = 1000
MAX_BIN_WIDTH = 1e15  #: a histogram's binWidth, at most (wider than any measured range)
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


async def field_bins(store: DocumentStore, kind: str, field: str | None) -> dict[str, tuple[float, float]]:
    """The fields of ``kind`` with fixed bins (only ``field`` if given); 422 for an unknown kind or field."""
    entry = await get_kind(await store.ready(), kind)
    if entry is None:
        raise InvalidInput(f"Unknown kind `{kind}`")
    bins = bins_of(entry["schema"])
    if field is not None:
        if field not in bins:
            raise InvalidInput(f"`{kind}` has no field `{field}` with fixed bins; known: {', '.join(sorted(bins))}")
        return {field: bins[field]}
    return bins


async def covered_metrics(
    db: ReadSession,
    identity: Identity,
    *,
    sessionId: int | None = None,
    proposal: str | None = None,
    beamLineName: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Coverage:
    """The metrics of a scope the caller reaches (404 for a session or proposal out of reach), at hour
    resolution: ``start`` is taken down to its hour."""
    if start and end and end <= start:
        raise InvalidInput("`to` must come after `from`")
    sessions = None
    if sessionId is not None or beamLineName is not None:
        sessions = await sessions_reached(db, identity.scope, sessionId, beamLineName)
        if sessionId is not None and not sessions:
            raise NotFound(f"Session {sessionId} not found")
    proposal_id = await proposal_id_by_name(db, identity.scope, proposal) if proposal else None
    scope = await document_scope(db, identity.scope) if sessions is None else {}
    floor = rollups.hour_of(start) if start else None
    return Coverage(scope=scope, sessions=sessions, proposal_id=proposal_id, start=floor, end=end)


def field_stats(merged: dict[str, Any] | None, origin: float, width: float) -> dict[str, Any]:
    if merged is None or merged["count"] == 0:
        return {"count": 0, "mean": None, "min": None, "max": None} | {q: None for q in QUANTILES}
    count = merged["count"]
    out = {"count": count, "mean": merged["sum"] / count, "min": merged["min"], "max": merged["max"]}
    return out | {name: rollups.quantile(merged["bins"], count, q, origin, width) for name, q in QUANTILES.items()}


async def histogram(
    store: DocumentStore, where: Coverage, kind: str, field: str, bins: int | None, bin_width: float | None
) -> dict[str, Any]:
    """Counts per bin: the field's fixed bins merged ``binWidth / width`` at a time (a whole multiple; edges
    aligned on the field's origin), or into at most ``bins`` bins (edges on the fixed bins' grid, starting at the
    lowest bin holding a value)."""
    origin, width = (await field_bins(store, kind, field))[field]
    merged = rollups.merge(await rollups_of(store.db, where, kind, field))
    base = dict(merged["bins"]) if merged else {}
    factor, first = 1, 0
    if bin_width is not None:
        ratio = bin_width / width  # infinite for a field's bins narrower than binWidth / 1.8e308
        factor = round(ratio) if math.isfinite(ratio) else 0
        if factor < 1 or not math.isclose(factor * width, bin_width, rel_tol=1e-9):
            raise InvalidInput(f"binWidth must be a whole multiple of {field}'s fixed bin width {width}")
    elif bins is not None and base:
        first = min(base)
        factor = max(1, math.ceil((max(base) - first + 1) / bins))
    coarse: dict[int, int] = defaultdict(int)
    for k, n in base.items():
        coarse[(k - first) // factor] += n
    step = width * factor
    return {
        "kind": kind,
        "field": field,
        "origin": origin,
        "binWidth": step,
        "count": merged["count"] if merged else 0,
        "bins": [
            {"start": origin + first * width + k * step, "end": origin + first * width + (k + 1) * step, "count": n}
            for k, n in sorted(coarse.items())
        ],
    }


async def summary(store: DocumentStore, where: Coverage, kind: str, field: str | None) -> dict[str, Any]:
    """Per field: count, mean, min, max and p10/p50/p90 (at bin resolution)."""
    fields = await field_bins(store, kind, field)
    rows = await rollups_of(store.db, where, kind, sorted(fields))
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_field[row["field"]].append(row)
    return {"kind": kind, "fields": {f: field_stats(rollups.merge(by_field[f]), *fields[f]) for f in sorted(fields)}}


async def timeseries(store: DocumentStore, where: Coverage, kind: str, field: str, interval: str) -> dict[str, Any]:
    """Per time bucket: count, mean, min, max, p50 and p90."""
    origin, width = (await field_bins(store, kind, field))[field]
    buckets: Mapping[datetime, dict[str, Any] | None]
    if interval == "minute":
        buckets = await _minutes(store, where, kind, field, origin, width)
    else:
        rows = await rollups_of(store.db, where, kind, field)
        grouped: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            hour = rollups.hour_of(row["hour"])
            grouped[hour.replace(hour=0) if interval == "day" else hour].append(row)
        buckets = {t: rollups.merge(group) for t, group in grouped.items()}
    series = []
    for moment in sorted(buckets):
        stats_ = field_stats(buckets[moment], origin, width)
        series.append({"time": moment} | {k: stats_[k] for k in ("count", "mean", "min", "max", "p50", "p90")})
    return {"kind": kind, "field": field, "interval": interval, "buckets": series}


async def _minutes(
    store: DocumentStore, where: Coverage, kind: str, field: str, origin: float, width: float
) -> dict[datetime, dict[str, Any]]:
    start, end = where.start, where.end
    narrow = where.sessions is not None or (start and end and end - start <= timedelta(days=1))
    if not narrow:
        raise InvalidInput("Minute series need a sessionId, or a time range of at most a day")
    buckets: dict[datetime, dict[str, Any]] = {}
    for doc in await values_of(store.db, where, kind, field):
        value = doc["values"][field]
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        moment = as_utc(doc["createdAt"])
        rollups.fold(buckets, moment.replace(second=0, microsecond=0), value, origin, width)
    return {minute: acc | {"bins": {int(k): n for k, n in acc["bins"].items()}} for minute, acc in buckets.items()}


async def session_stats(db: ReadSession, store: DocumentStore, identity: Identity, session_id: int) -> dict[str, Any]:
    """Per technique: collections, images/movies, share motion-corrected / CTF-processed / auto-processed, best
    resolution (SQL auto-processing for MX, CTF estimates for EM)."""
    techniques = await stats.techniques(db, identity.scope, session_id)
    if techniques is None:
        raise NotFound(f"Session {session_id} not found")
    rows = await of_session(store.db, session_id, ["em.motioncorrection", "em.ctf"])
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[(row["kind"], row["field"])].append(row)
    motion = rollups.merge(grouped[("em.motioncorrection", "totalMotion")])
    ctf = rollups.merge(grouped[("em.ctf", "estimatedResolution")])
    em = techniques.get("em")
    if em is not None:
        movies = em["images"] or None
        em["motionCorrected"] = (motion["count"] if motion else 0) / movies if movies else None
        em["ctfProcessed"] = (ctf["count"] if ctf else 0) / movies if movies else None
        em["bestCtfResolution"] = ctf["min"] if ctf else None
    for entry in techniques.values():
        dcs = entry["datacollections"]
        entry["autoProcessedShare"] = entry["autoProcessed"] / dcs if dcs else None
    return {"sessionId": session_id, "techniques": techniques}
