"""Beamtime sessions, scoped to the caller."""

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Integer, bindparam, extract, func, literal, null, or_, select, union_all

from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, paged, proposal_name, session_name
from relational.flavour import SchemaInfo
from relational.models import BLSession, DataCollection, DataCollectionGroup, Proposal, SessionHasPerson, SessionType
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.statements import built_once
from schemas.options import BeamLineGroup, ui_groups
from schemas.times import local_now

SOON = timedelta(minutes=20)
#: a session that ended this long ago no longer gains data collections
SETTLED = timedelta(hours=1)


class FinishedSessionCounts:
    """Data-collection counts of sessions that ended over an hour ago, kept ``ttl`` seconds in this process.

    Counting a session's collections reads every one of them and is the costliest part of a session list;
    once a session is over its count stays put. ``ttl`` 0 turns the cache off. A count read before a session was
    forgotten (``forget``) and put after is not kept: a read takes a ``mark`` before it counts."""

    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[int, tuple[float, int]] = {}
        self._forgets = 0  #: how many times a session was forgotten
        self._forgotten: dict[int, int] = {}  #: session → ``_forgets`` when it was last forgotten
        self._floor = 0  #: counts read before this mark are not kept (``_forgotten`` was cleared then)

    def get(self, ids: Collection[int]) -> dict[int, int]:
        """The fresh counts among ``ids``."""
        now = time.monotonic()
        found = {sid: self._entries.get(sid) for sid in ids}
        return {sid: entry[1] for sid, entry in found.items() if entry and entry[0] > now}

    def mark(self) -> int:
        """Taken before counting: ``put`` then drops the counts of sessions forgotten meanwhile."""
        return self._forgets

    def put(self, counts: dict[int, int], mark: int) -> None:
        """Keep counts read since ``mark``, but those of sessions forgotten since."""
        if self.ttl <= 0 or mark < self._floor:
            return
        counts = {sid: n for sid, n in counts.items() if self._forgotten.get(sid, 0) <= mark}
        if not counts:
            return
        if len(self._entries) + len(counts) > self.max_entries:
            self._entries.clear()
        expires = time.monotonic() + self.ttl
        self._entries.update((sid, (expires, n)) for sid, n in counts.items())

    def forget(self, session_id: int) -> None:
        """Count this session afresh: a collection was written into it after it ended (another worker's cache
        keeps its count up to ``ttl``), also when a count read before the write is put after it."""
        self._entries.pop(session_id, None)
        self._forgets += 1
        if len(self._forgotten) >= self.max_entries:
            self._forgotten.clear()
            self._floor = self._forgets
        self._forgotten[session_id] = self._forgets


def _visible(scope: Scope, schema: SchemaInfo) -> AnySelect:
    """Sessions the caller sees, with their names (no order)."""
    return (
        select(
            BLSession.sessionId,
            BLSession.proposalId,
            session_name,
            proposal_name,
            BLSession.visit_number,
            BLSession.startDate,
            BLSession.endDate,
            BLSession.beamLineName,
            BLSession.beamLineOperator,
            BLSession.scheduled,
            BLSession.comments,
            schema.optional("BLSession", "nbReimbDewars"),
        )
        .join(Proposal, Proposal.proposalId == BLSession.proposalId)
        .where(scope.sessions())
    )


@dataclass(frozen=True)
class _Shape:
    """What shapes a session list: the filters given (bind parameters of their names), the flags."""

    given: frozenset[str]
    scheduled: bool
    upcoming: bool
    previous: bool


@built_once
def _sessions(scope: Scope, schema: SchemaInfo, shape: _Shape) -> AnySelect:
    query = _visible(scope, schema)
    given = shape.given
    if "sessionId" in given:
        query = query.where(BLSession.sessionId == bindparam("sessionId"))
    if "proposal" in given:
        query = query.where(proposal_name == bindparam("proposal"))
    if "beamLineNames" in given:
        query = query.where(BLSession.beamLineName.in_(bindparam("beamLineNames", expanding=True)))
    if shape.scheduled:
        query = query.where(BLSession.scheduled.is_(True))
    if "sessionType" in given:
        typed = select(SessionType.sessionId).where(SessionType.typeName == bindparam("sessionType"))
        query = query.where(BLSession.sessionId.in_(typed))
    for part in ("year", "month"):
        if part in given:
            on = bindparam(part, type_=Integer())
            query = query.where(or_(extract(part, BLSession.startDate) == on, extract(part, BLSession.endDate) == on))
    if "dayStart" in given:
        query = query.where(BLSession.startDate < bindparam("dayEnd"), BLSession.endDate >= bindparam("dayStart"))
    if shape.upcoming:
        return query.where(BLSession.endDate >= bindparam("now")).order_by(BLSession.startDate, BLSession.sessionId)
    if shape.previous:
        query = query.where(BLSession.endDate < bindparam("now"))
    return query.order_by(BLSession.startDate.desc(), BLSession.sessionId.desc())


async def get_sessions(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    *,
    sessionId: int | None = None,
    proposal: str | None = None,
    beamLineNames: Sequence[str] | None = None,
    upcoming: bool = False,
    previous: bool = False,
    sessionType: str | None = None,
    scheduled: bool | None = None,
    year: int | None = None,
    month: int | None = None,
    day: date | None = None,
    groups: Sequence[BeamLineGroup] = (),
    counts: FinishedSessionCounts | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible sessions, latest first (soonest first with ``upcoming``), with py-ispyb's ``_metadata``
    (collection counts of finished sessions come from ``counts`` when it holds them). ``year``/``month``: sessions
    starting or ending then; ``day``: sessions running on that day (MXCuBE looks for today's session so)."""
    now = local_now()
    given: dict[str, Any] = {
        "sessionId": sessionId,
        "proposal": proposal or None,
        "beamLineNames": None if beamLineNames is None else list(beamLineNames),
        "sessionType": sessionType or None,
        "year": year if year and day is None else None,
        "month": month if month and day is None else None,
    }
    values = {k: v for k, v in given.items() if v is not None}
    if day is not None:
        values["dayStart"] = datetime.combine(day, datetime.min.time())
        values["dayEnd"] = values["dayStart"] + timedelta(days=1)
    if upcoming or previous:
        values["now"] = now
    shape = _Shape(frozenset(values), bool(scheduled), upcoming, previous)
    total, rows = await paged(db, _sessions(scope, schema, shape), page, values)
    await _add_metadata(db, rows, now, groups, counts)
    return total, rows


#: per session ``ids``: its data collections
_DC_COUNTS = (
    select(DataCollectionGroup.sessionId, func.count(DataCollection.dataCollectionId))
    .join(DataCollection, DataCollection.dataCollectionGroupId == DataCollectionGroup.dataCollectionGroupId)
    .where(DataCollectionGroup.sessionId.in_(bindparam("ids", expanding=True)))
    .group_by(DataCollectionGroup.sessionId)
)
#: per session ``ids``, in one round trip: how many people are on it (``persons`` rows), its types (``type`` rows)
_PEOPLE_AND_TYPES: CompoundSelect[Any] = union_all(
    select(
        SessionHasPerson.sessionId,
        literal("persons").label("what"),
        func.count(SessionHasPerson.personId).label("n"),
        null().label("typeName"),
    )
    .where(SessionHasPerson.sessionId.in_(bindparam("ids", expanding=True)))
    .group_by(SessionHasPerson.sessionId),
    select(SessionType.sessionId, literal("type").label("what"), literal(0).label("n"), SessionType.typeName)
    .where(SessionType.sessionId.in_(bindparam("ids", expanding=True)))
    .distinct(),
)


async def _dc_counts(
    db: ReadSession, rows: list[dict[str, Any]], now: datetime, cache: FinishedSessionCounts | None
) -> dict[int, int]:
    finished = {r["sessionId"] for r in rows if r["endDate"] and r["endDate"] < now - SETTLED}
    known = cache.get(finished) if cache else {}
    missing = [r["sessionId"] for r in rows if r["sessionId"] not in known]
    if not missing:
        return known
    mark = cache.mark() if cache else 0
    counted = dict((await db.execute(_DC_COUNTS, {"ids": missing})).all())
    fresh = {sid: counted.get(sid, 0) for sid in missing}
    if cache:
        cache.put({sid: n for sid, n in fresh.items() if sid in finished}, mark)
    return known | fresh


async def _add_metadata(
    db: ReadSession,
    rows: list[dict[str, Any]],
    now: datetime,
    groups: Sequence[BeamLineGroup],
    counts: FinishedSessionCounts | None,
) -> None:
    ids = [r["sessionId"] for r in rows]
    if not ids:
        return
    dcs = await _dc_counts(db, rows, now, counts)
    persons: dict[int, int] = {}
    types: dict[int, list[str]] = {}
    for sid, what, n, name in await db.execute(_PEOPLE_AND_TYPES, {"ids": ids}):
        if what == "persons":
            persons[sid] = int(n)
        else:
            types.setdefault(sid, []).append(name)
    for names in types.values():
        names.sort()
    for row in rows:
        start, end, sid = row["startDate"], row["endDate"], row["sessionId"]
        row["_metadata"] = {
            "datacollections": dcs.get(sid, 0),
            "uiGroups": ui_groups(groups, [row["beamLineName"]]),
            "persons": persons.get(sid, 0),
            "active": bool(start and end and start <= now <= end),
            "active_soon": bool(start and end and start - SOON <= now <= end + SOON),
            "sessionTypes": types.get(sid, []),
        }


#: a proposal's sessions: latest first, as the list
_ORDER = (BLSession.startDate.desc(), BLSession.sessionId.desc())


async def of_proposals(
    db: ReadSession, scope: Scope, schema: SchemaInfo, proposal_ids: Sequence[int], page: Page
) -> dict[int, Slice]:
    """Per proposal, its visible sessions (latest first), that page of each (without ``_metadata``)."""
    return await by_parent(db, _visible(scope, schema), BLSession.proposalId, proposal_ids, _ORDER, page)


async def by_session_ids(
    db: ReadSession, scope: Scope, schema: SchemaInfo, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The visible sessions among ``ids`` (without ``_metadata``)."""
    return await by_ids(db, _visible(scope, schema), BLSession.sessionId, ids)
