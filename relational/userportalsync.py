"""The user office's sync: a py-ispyb ``UserPortalProposalSync`` document upserted into ISPyB's tables.

Everything the document touches is read in a few set-based queries and matched in memory (``userportalsync_match``)
before anything is written; a document with any problem writes nothing. Then only differences are written, in
bulk statements: new rows inserted, changed columns updated, membership links added (and removed when the document
asks to ``prune`` them). Nothing else is ever deleted. The caller's unit of work commits.
"""

from collections import defaultdict
from functools import lru_cache
from time import monotonic
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, bindparam, delete, insert, tuple_, update
from sqlalchemy.exc import IntegrityError

from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.userportalsync_match import ID, Matched, match, typed_column_of
from relational.userportalsync_plan import Row, plan_of, same
from schemas.errors import Conflict, InvalidInput
from schemas.userportalsync import Counts, LinkCounts, SyncReport, UserPortalProposalSync


@lru_cache(maxsize=512)
def _table(name: str, names: tuple[str, ...]) -> Table:
    """``name`` with ``names`` (its id, where it has one, as the primary key that ordered RETURNING needs); one
    object per set of columns, so its statements' compiled forms are cached."""
    key = ID.get(name)
    others = (typed_column_of(n) for n in dict.fromkeys(names) if n != key)
    return Table(name, MetaData(), *([Column(key, Integer, primary_key=True)] if key else []), *others)


async def _insert(db: WriteSession, name: str, rows: list[Row]) -> None:
    """Insert ``rows`` (one statement per set of columns) and note their new ids."""
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row.values))].append(row)
    for names, group in groups.items():
        t = _table(name, (ID[name], *names))
        stmt = insert(t).returning(t.c[ID[name]], sort_by_parameter_order=True)
        ids = (await db.execute(stmt, [row.values for row in group])).scalars().all()
        for row, new_id in zip(group, ids, strict=True):
            row.id = new_id


async def _update(db: WriteSession, name: str, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Set the changed columns of existing rows (one statement per set of columns)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for row_id, changed in changes:
        groups[tuple(sorted(changed))].append((row_id, changed))
    for names, group in groups.items():
        t = _table(name, (ID[name], *names))
        stmt = update(t).where(t.c[ID[name]] == bindparam("row_id")).values({n: bindparam(f"v_{n}") for n in names})
        params = [{"row_id": row_id} | _bound(changed) for row_id, changed in group]
        await db.execute(stmt, params)


async def _upsert(db: WriteSession, name: str, rows: list[Row], found: dict[int, dict[str, Any]]) -> Counts:
    """Insert the rows without an id, update the changed columns of the others; count both and the unchanged."""
    counts = Counts()
    changes: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        if row.id is None:
            continue
        stored = found[row.id]
        changed = {k: v for k, v in row.values.items() if not same(stored.get(k), v)}
        if changed:
            changes.append((row.id, changed))
    new = [row for row in rows if row.id is None]
    await _insert(db, name, new)
    await _update(db, name, changes)
    counts.created, counts.updated = len(new), len(changes)
    counts.unchanged = len(rows) - len(new) - len(changes)
    return counts


async def _proposal_members(db: WriteSession, m: Matched, proposal_id: int, prune: bool) -> LinkCounts:
    wanted = {p for p in (m.plan.persons[member.person].id for member in m.plan.proposal_members) if p is not None}
    have = m.proposal_members
    t = _table("ProposalHasPerson", ("proposalId", "personId"))
    added = [{"proposalId": proposal_id, "personId": p} for p in sorted(wanted - have)]
    if added:
        await db.execute(insert(t), added)
    removed = sorted(have - wanted) if prune else []
    if removed:
        await db.execute(delete(t).where(t.c.proposalId == proposal_id, t.c.personId.in_(removed)))
    return LinkCounts(added=len(added), removed=len(removed), unchanged=len(wanted & have))


async def _session_members(db: WriteSession, m: Matched, prune: bool) -> LinkCounts:
    counts = LinkCounts()
    added: list[dict[str, Any]] = []
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    removed: list[tuple[int, int]] = []
    for row, members in m.plan.sessions:
        if members is None:
            continue
        have = m.session_members.get(row.id, {})  # type: ignore[arg-type]
        listed: set[int] = set()
        for member in members:
            person_id = m.plan.persons[member.person].id
            assert person_id is not None and row.id is not None
            listed.add(person_id)
            stored = have.get(person_id)
            if stored is None:
                added.append({"sessionId": row.id, "personId": person_id} | member.values)
                continue
            changed = {k: v for k, v in member.values.items() if not same(stored.get(k), v)}
            if changed:
                changes[tuple(sorted(changed))].append({"s": row.id, "p": person_id} | _bound(changed))
                counts.updated += 1
            else:
                counts.unchanged += 1
        if prune:
            removed += [(row.id, p) for p in sorted(set(have) - listed)]  # type: ignore[misc]
    t = _table("Session_has_Person", ("sessionId", "personId", "role", "remote"))
    for names in {tuple(sorted(a)) for a in added}:
        await db.execute(insert(t), [a for a in added if tuple(sorted(a)) == names])
    for names, params in changes.items():
        values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names}
        stmt = update(t).where(t.c.sessionId == bindparam("s"), t.c.personId == bindparam("p")).values(values)
        await db.execute(stmt, params)
    if removed:
        await db.execute(delete(t).where(tuple_(t.c.sessionId, t.c.personId).in_(removed)))
    counts.added, counts.removed = len(added), len(removed)
    return counts


def _bound(changed: dict[str, Any]) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in changed.items()}


def _linked(rows: list[tuple[Row, int]], m: Matched, proposal_id: int) -> list[Row]:
    """Rows of the proposal naming a person (lab contacts, proteins), their foreign keys set."""
    for row, who in rows:
        row.values |= {"proposalId": proposal_id, "personId": m.plan.persons[who].id}
    return [row for row, _ in rows]


async def _write(db: WriteSession, m: Matched, prune: set[str]) -> dict[str, Counts | LinkCounts]:
    plan = m.plan
    assert plan.proposal is not None
    counts: dict[str, Counts | LinkCounts] = {}
    counts["laboratories"] = await _upsert(db, "Laboratory", plan.laboratories, m.found["Laboratory"])
    for person in plan.persons:
        if person.laboratory is not None:
            person.values["laboratoryId"] = plan.laboratories[person.laboratory].id
    counts["persons"] = await _upsert(db, "Person", list(plan.persons), m.found["Person"])
    principal = plan.persons[plan.proposal_members[0].person].id
    plan.proposal.values["personId"] = principal
    counts["proposal"] = await _upsert(db, "Proposal", [plan.proposal], m.found["Proposal"])
    proposal_id = plan.proposal.id
    assert proposal_id is not None
    counts["proposalMembers"] = await _proposal_members(db, m, proposal_id, "proposalMembers" in prune)
    sessions = [row for row, _ in plan.sessions]
    for row in sessions:
        row.values["proposalId"] = proposal_id
    counts["sessions"] = await _upsert(db, "BLSession", sessions, m.found["BLSession"])
    counts["sessionMembers"] = await _session_members(db, m, "sessionMembers" in prune)
    contacts = _linked(plan.lab_contacts, m, proposal_id)
    counts["labContacts"] = await _upsert(db, "LabContact", contacts, m.found["LabContact"])
    proteins = _linked(plan.proteins, m, proposal_id)
    counts["proteins"] = await _upsert(db, "Protein", proteins, m.found["Protein"])
    return counts


def _changed(counts: dict[str, Counts | LinkCounts]) -> bool:
    return any(
        c.created or c.updated if isinstance(c, Counts) else c.added or c.updated or c.removed for c in counts.values()
    )


async def sync_proposal(
    db: WriteSession, schema: SchemaInfo, doc: UserPortalProposalSync, dry_run: bool = False
) -> SyncReport:
    """Upsert ``doc``; InvalidInput listing every problem (``errors``: path and message) and nothing written when
    it has any; Conflict when the database refuses a row another writer changed meanwhile. ``dry_run``: the
    same report, everything written undone (a savepoint rolled back)."""
    started = monotonic()
    plan = plan_of(schema, doc)
    doc.unstored(sorted(set(plan.ignored)))
    matched = await match(db, schema, plan)
    if plan.problems:
        raise InvalidInput(
            f"The sync document has {len(plan.problems)} problem(s); nothing was written",
            errors=plan.problems,
        )
    savepoint = await db.begin_nested() if dry_run else None
    try:
        counts = await _write(db, matched, set(doc.prune))
    except IntegrityError as exc:  # a row written by someone else meanwhile (outside the sync's locks)
        raise Conflict(f"Refused by the database, nothing was written; retry ({exc.orig or exc})") from None
    finally:
        if savepoint is not None:
            await savepoint.rollback()
    assert plan.proposal is not None
    code, number = doc.proposal.proposalCode, doc.proposal.proposalNumber
    took = round(monotonic() - started, 3)
    created = isinstance(counts["proposal"], Counts) and counts["proposal"].created
    return SyncReport.model_validate(
        {
            "message": f"The proposal {code}-{number} has been synchronized in {took}"
            + (" (dry run: nothing was written)" if dry_run else ""),
            "proposalId": None if dry_run and created else plan.proposal.id,
            "changed": _changed(counts),
            "dryRun": dry_run,
            "ignored": doc.ignored(),
            **counts,
        }
    )
