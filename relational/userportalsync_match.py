"""A sync plan's rows matched to the database's, in one query per table, before anything is written: each row gets
the id of the row it updates (none: it is new), and what only the database can tell is added to the problems (a
new person without a login, a session of another proposal, a ``visit_number`` or lab contact already taken)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    LargeBinary,
    column,
    false,
    or_,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnClause, TableClause
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.userportalsync_plan import Plan, Row

#: each synced table's primary key
ID = {
    "Person": "personId",
    "Laboratory": "laboratoryId",
    "Proposal": "proposalId",
    "BLSession": "sessionId",
    "LabContact": "labContactId",
    "Protein": "proteinId",
}


class _Unhex(FunctionElement[bytes]):
    """``UNHEX(value)`` on MariaDB, the value itself elsewhere."""

    inherit_cache = True


@compiles(_Unhex)
def _plain(element: _Unhex, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unhex, "mysql")
def _unhex(element: _Unhex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"UNHEX({compiler.process(element.clauses, **kw)})"


class ExternalId(TypeDecorator[int]):
    """An ``externalId``: an integer stored as py-ispyb stores it, ``binary(16)`` big-endian. Sent to MariaDB as
    hexadecimal text (aiomysql cannot send bytes with the PyMySQL it runs on)."""

    impl = LargeBinary(16)
    cache_ok = True

    def bind_expression(self, bindvalue: BindParameter[int]) -> ColumnElement[int]:
        return _Unhex(bindvalue)  # type: ignore[return-value]

    def bind_processor(self, dialect: Dialect) -> Callable[[int | None], bytes | str | None]:
        def stored(value: int | None) -> bytes | str | None:
            if value is None:
                return None
            binary = value.to_bytes(16, "big")
            return binary.hex() if dialect.name == "mysql" else binary

        return stored

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> int | None:
        return None if value is None else int.from_bytes(value, "big")


#: the synced columns that keep a time: typed, so SQLite (which keeps text) reads them back as datetimes, as MariaDB's
#: driver does (untyped, an unchanged session read as changed on every sync of the embedded default)
TIMES = frozenset({"startDate", "endDate", "lastUpdate"})


def _type(name: str) -> ExternalId | DateTime | None:
    return ExternalId() if name == "externalId" else DateTime() if name in TIMES else None


def typed_column(name: str) -> ColumnClause[Any]:
    """A column of a synced table, typed where values need converting (``externalId``, times)."""
    return column(name, _type(name))


def typed_column_of(name: str) -> Column[Any]:
    """The same, for a ``Table``."""
    return Column(name, _type(name))


@dataclass
class Matched:
    """A plan whose rows carry the ids of the rows they update, with those rows as stored (by table, then id)."""

    plan: Plan
    found: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: person ids linked to the proposal
    proposal_members: set[int] = field(default_factory=set)
    #: session id -> person id -> the link's stored role and remote
    session_members: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)


def _live(schema: SchemaInfo, name: str, names: list[str]) -> TableClause:
    """``name`` with those of ``names`` this database has."""
    have = schema.columns.get(name, frozenset())
    return table(name, *(typed_column(n) for n in dict.fromkeys(names) if n.lower() in have))


def _synced(schema: SchemaInfo, name: str, rows: list[Row], keys: list[str]) -> TableClause:
    """``name`` with its id, ``keys`` and every column ``rows`` set."""
    return _live(schema, name, [ID[name], *keys, *(k for row in rows for k in row.values)])


async def _read(
    db: WriteSession, t: TableClause, where: ColumnElement[bool], lock: bool = False
) -> list[dict[str, Any]]:
    """The rows of ``t`` matching ``where``; ``lock``: a locking read (an indexed look-up; every one but the scans
    of unindexed columns), which sees the latest committed rows, not the transaction's snapshot, and keeps them
    (and, at MariaDB's default isolation, their gap) locked until the end: a second sync of the same rows at once
    waits, or deadlocks and is told to retry, instead of writing them twice."""
    query = select(*t.c).where(where)
    return [dict(r) for r in (await db.execute(query.with_for_update() if lock else query)).mappings()]


def _in(t: TableClause, name: str, values: list[Any]) -> ColumnElement[bool]:
    """``name IN values`` (false when the table lacks the column or nothing is asked)."""
    return t.c[name].in_(values) if values and name in t.c else false()


def _of(t: TableClause, proposal_id: int | None) -> ColumnElement[bool]:
    """The proposal's rows of ``t`` (none for a new proposal)."""
    return t.c.proposalId == proposal_id if proposal_id is not None else false()


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _index(stored: list[dict[str, Any]], *names: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Stored rows by the (case-folded) values of ``names``, the oldest row first where several share them."""
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in sorted(stored, key=lambda r: int(next(iter(r.values())))):
        key = tuple(_fold(r.get(n)) for n in names)
        if None not in key:
            index.setdefault(key, r)
    return index


def _find(row: Row, *indexes: tuple[dict[tuple[Any, ...], dict[str, Any]], tuple[str, ...]]) -> dict[str, Any] | None:
    for index, names in indexes:
        key = tuple(_fold(row.values.get(n)) for n in names)
        if None not in key and key in index:
            return index[key]
    return None


async def _laboratories(db: WriteSession, schema: SchemaInfo, m: Matched) -> None:
    labs = m.plan.laboratories
    exts = [row.values["laboratoryExtPk"] for row in labs if row.values.get("laboratoryExtPk") is not None]
    names = [row.values["name"] for row in labs]
    place = ("name", "city") if schema.flavour == "dls" else ("name", "city", "country")
    t = _synced(schema, "Laboratory", labs, list(place))
    stored = await _read(db, t, or_(_in(t, "laboratoryExtPk", exts), _in(t, "name", names)))
    by_ext, by_place = _index(stored, "laboratoryExtPk"), _index(stored, *place)
    for row in labs:
        found = _find(row, (by_ext, ("laboratoryExtPk",)), (by_place, place))
        row.id = None if found is None else found["laboratoryId"]
    m.found["Laboratory"] = {r["laboratoryId"]: r for r in stored}


async def _persons(db: WriteSession, schema: SchemaInfo, m: Matched) -> None:
    """By login (an index), then, for those no login matched, by externalId (no index: only then is it scanned)."""
    persons = m.plan.persons
    t = _synced(schema, "Person", list(persons), ["login", "externalId", "laboratoryId"])
    logins = [row.values["login"] for row in persons if row.values.get("login")]
    stored = await _read(db, t, _in(t, "login", logins), lock=True)
    by_login = _index(stored, "login")
    unmatched = [row for row in persons if _find(row, (by_login, ("login",))) is None]
    exts = [row.values["externalId"] for row in unmatched if row.values.get("externalId") is not None]
    stored += await _read(db, t, _in(t, "externalId", exts)) if exts else []
    by_ext = _index(stored, "externalId")
    for row in persons:
        found = _find(row, (by_login, ("login",)), (by_ext, ("externalId",)))
        row.id = None if found is None else found["personId"]
        if found is None and not row.values.get("login"):
            m.plan.problem(row.path, "a new person needs a login (no person has this externalId): nobody could log in")
    _distinct(m.plan, persons)
    m.found["Person"] = {r["personId"]: r for r in stored}


async def _proposal(db: WriteSession, schema: SchemaInfo, m: Matched) -> int | None:
    """By externalId, then code and number: the code and number first (an index); externalId is scanned for only
    when the proposal they name has another one, or none is."""
    row = m.plan.proposal
    assert row is not None
    ext = row.values.get("externalId")
    t = _synced(schema, "Proposal", [row], ["proposalCode", "proposalNumber", "personId"])
    named = (t.c.proposalCode == row.values["proposalCode"]) & (t.c.proposalNumber == row.values["proposalNumber"])
    stored = await _read(db, t, named, lock=True)
    if ext is not None and "externalId" in t.c and not any(r["externalId"] == ext for r in stored):
        stored += await _read(db, t, t.c.externalId == ext, lock=True)
    by_ext = _find(row, (_index(stored, "externalId"), ("externalId",)))
    by_name = _find(row, (_index(stored, "proposalCode", "proposalNumber"), ("proposalCode", "proposalNumber")))
    found = by_ext or by_name
    if by_ext is not None and by_name is not None and by_ext["proposalId"] != by_name["proposalId"]:
        name = f"{by_name['proposalCode']}{by_name['proposalNumber']}"
        m.plan.problem(f"{row.path}.externalId", f"is proposal {by_ext['proposalId']}'s, not {name}'s")
    row.id = None if found is None else found["proposalId"]
    m.found["Proposal"] = {r["proposalId"]: r for r in stored}
    return row.id


async def _sessions(db: WriteSession, schema: SchemaInfo, m: Matched, proposal_id: int | None) -> None:
    """The proposal's sessions (an index); sessions of the document none of them matches are looked for among all
    (no index on externalId or expSessionPk: only then is BLSession scanned)."""
    rows = [row for row, _ in m.plan.sessions]
    keys = ["proposalId", "externalId", "expSessionPk", "visit_number", "startDate", "endDate"]
    t = _synced(schema, "BLSession", rows, keys)
    by_second = ("expSessionPk",) if "expSessionPk" in t.c else ("visit_number",)
    own = await _read(db, t, _of(t, proposal_id), lock=True)
    indexes = ((_index(own, "externalId"), ("externalId",)), (_index(own, *by_second), by_second))
    unmatched = [row for row in rows if _find(row, *indexes) is None]
    exts = [row.values["externalId"] for row in unmatched if row.values.get("externalId") is not None]
    pks = [row.values["expSessionPk"] for row in unmatched if row.values.get("expSessionPk") is not None]
    others = await _read(db, t, or_(_in(t, "externalId", exts), _in(t, "expSessionPk", pks))) if unmatched else []
    others = [r for r in others if r["proposalId"] != proposal_id]
    elsewhere = ((_index(others, "externalId"), ("externalId",)), (_index(others, "expSessionPk"), ("expSessionPk",)))
    for row in rows:
        found = _find(row, *indexes) or _find(row, *elsewhere)
        row.id = None if found is None else found["sessionId"]
        if found is not None and found["proposalId"] != proposal_id:
            m.plan.problem(row.path, f"is session {found['sessionId']} of another proposal")
        elif found is None and by_second == ("visit_number",) and row.values.get("visit_number") is None:
            m.plan.problem(row.path, "a new session needs a visit_number here (this database matches sessions by it)")
        merged = (found or {}) | row.values
        start, end = merged.get("startDate"), merged.get("endDate")
        if found is not None and start is not None and end is not None and end < start:
            m.plan.problem(f"{row.path}.endDate", "the session would end before it starts")
    if by_second == ("visit_number",):
        _visit_numbers(m, own)
    _distinct(m.plan, rows)
    m.found["BLSession"] = {r["sessionId"]: r for r in own + others}


def _distinct(plan: Plan, rows: Sequence[Row]) -> None:
    """No two rows of the document may update the same stored row (matched by different keys)."""
    seen: dict[int, str] = {}
    for row in rows:
        if row.id is not None and row.id in seen:
            plan.problem(row.path, f"is the same {row.table} as {seen[row.id]} (matched by another key)")
        elif row.id is not None:
            seen[row.id] = row.path


def _visit_numbers(m: Matched, own: list[dict[str, Any]]) -> None:
    """Diamond's BLSession is unique by proposal and visit number: none the document gives may be another's."""
    taken = {r["visit_number"]: r["sessionId"] for r in own}
    for row, _ in m.plan.sessions:
        number = row.values.get("visit_number")
        holder = taken.get(number)
        if number is not None and holder is not None and holder != row.id:
            m.plan.problem(f"{row.path}.visit_number", f"is session {holder}'s visit number in this proposal")


async def _of_proposal(db: WriteSession, schema: SchemaInfo, m: Matched, proposal_id: int | None) -> None:
    """Lab contacts, proteins and members of an existing proposal (a new one has none)."""
    contacts = [row for row, _ in m.plan.lab_contacts]
    t = _synced(schema, "LabContact", contacts, ["proposalId", "cardName", "personId"])
    stored = await _read(db, t, _of(t, proposal_id), lock=True)
    by_card = _index(stored, "cardName")
    for row, who in m.plan.lab_contacts:
        found = _find(row, (by_card, ("cardName",)))
        row.id = None if found is None else found["labContactId"]
        person_id = m.plan.persons[who].id
        other = next((r for r in stored if r["personId"] == person_id and r["labContactId"] != row.id), None)
        if person_id is not None and other is not None:
            m.plan.problem(f"{row.path}.person", f"has lab contact `{other['cardName']}` in this proposal already")
    m.found["LabContact"] = {r["labContactId"]: r for r in stored}
    proteins = [row for row, _ in m.plan.proteins]
    t = _synced(schema, "Protein", proteins, ["proposalId", "personId", "externalId", "acronym"])
    stored = await _read(db, t, _of(t, proposal_id), lock=True)
    by_ext, by_acronym = _index(stored, "externalId"), _index(stored, "acronym")
    for row in proteins:
        found = _find(row, (by_ext, ("externalId",)), (by_acronym, ("acronym",)))
        row.id = None if found is None else found["proteinId"]
    m.found["Protein"] = {r["proteinId"]: r for r in stored}
    members = _live(schema, "ProposalHasPerson", ["proposalId", "personId"])
    if proposal_id is not None:
        mine = select(members.c.personId).where(members.c.proposalId == proposal_id).with_for_update()
        found_ids = await db.execute(mine)
        m.proposal_members = set(found_ids.scalars())
    session_ids = [row.id for row, people in m.plan.sessions if row.id is not None and people is not None]
    if session_ids:
        links = _live(schema, "Session_has_Person", ["sessionId", "personId", "role", "remote"])
        found_links = await db.execute(select(*links.c).where(links.c.sessionId.in_(session_ids)).with_for_update())
        for link in found_links.mappings():
            m.session_members.setdefault(link["sessionId"], {})[link["personId"]] = dict(link)


async def match(db: WriteSession, schema: SchemaInfo, plan: Plan) -> Matched:
    """Give each row of ``plan`` the id of the stored row it updates; add what the database tells to its problems."""
    m = Matched(plan)
    await _laboratories(db, schema, m)
    await _persons(db, schema, m)
    proposal_id = await _proposal(db, schema, m)
    await _sessions(db, schema, m, proposal_id)
    await _of_proposal(db, schema, m, proposal_id)
    return m
