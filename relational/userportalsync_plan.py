"""A sync document read into rows to write, before any SQL: each person and laboratory once however often the
document repeats it, each row's columns (those the document sets and this database has), and every problem the
document has on its own (repeated keys, the same person told two ways, a session ending before it starts)."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from relational.flavour import SchemaInfo
from schemas.userportalsync import UPLaboratory, UPPerson, UPSessionPerson, UserPortalProposalSync

#: NOT NULL columns with a default: a null in the document means "not given"
_NOT_NULL = frozenset({"dewarAvgCustomsValue", "dewarAvgTransportValue", "hazardGroup", "containmentLevel"})
#: keys of a model that are not its table's columns
_NESTED = frozenset({"laboratory", "session_options", "person", "persons", "labcontacts", "prune"})


@dataclass
class Row:
    """One row the document describes: its columns, where the document says it, and its id once known."""

    table: str
    values: dict[str, Any]
    paths: list[str]
    id: int | None = None

    @property
    def path(self) -> str:
        return self.paths[0]


@dataclass
class PersonRow(Row):
    laboratory: int | None = None  #: index into ``Plan.laboratories``


@dataclass
class Member:
    """A person's link to the proposal or to one of its sessions (``role``/``remote``: the columns it sets)."""

    person: int  #: index into ``Plan.persons``
    path: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    persons: list[PersonRow] = field(default_factory=list)
    laboratories: list[Row] = field(default_factory=list)
    proposal: Row | None = None
    proposal_members: list[Member] = field(default_factory=list)
    sessions: list[tuple[Row, list[Member] | None]] = field(default_factory=list)
    lab_contacts: list[tuple[Row, int]] = field(default_factory=list)
    proteins: list[tuple[Row, int]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    _logins: dict[str, int] = field(default_factory=dict)
    _external: dict[int, int] = field(default_factory=dict)
    _labs: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def problem(self, path: str, message: str) -> None:
        self.problems.append({"path": path, "message": message})


def columns(schema: SchemaInfo, table: str, model: BaseModel, path: str, plan: Plan) -> dict[str, Any]:
    """The columns ``model`` sets that ``table`` has in this database; the others are noted as ignored."""
    live = schema.columns.get(table, frozenset())
    values: dict[str, Any] = {}
    for name in sorted(model.model_fields_set - _NESTED):
        value = getattr(model, name)
        if name in _NOT_NULL and value is None:
            continue
        if name.lower() in live:
            values[name] = value
            if isinstance(value, str) and not schema.fits(table, name, value):
                plan.problem(f"{path}.{name}", "has characters this database's column cannot keep")
        else:
            plan.ignored.append(f"{path}.{name}")
    return values


def same(a: Any, b: Any) -> bool:
    """Whether a column holding ``a`` already holds ``b`` (FLOAT columns: to their precision)."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return bool(a == b)


def _merge(plan: Plan, row: Row, values: dict[str, Any], path: str) -> None:
    """Add one more mention of ``row``: a column it sets twice must be set the same."""
    row.paths.append(path)
    for name, value in values.items():
        if name in row.values and not same(row.values[name], value):
            plan.problem(f"{path}.{name}", f"differs from {row.path}.{name}, the same {row.table.lower()}")
        row.values.setdefault(name, value)


def _laboratory(schema: SchemaInfo, plan: Plan, lab: UPLaboratory, path: str) -> int:
    values = columns(schema, "Laboratory", lab, path, plan)
    place = (lab.name.casefold(), lab.city.casefold())
    keys: list[tuple[Any, ...]] = [
        ("place", *place) if schema.flavour == "dls" else ("place", *place, lab.country.casefold())
    ]
    if "laboratoryExtPk" in values and values["laboratoryExtPk"] is not None:
        keys.insert(0, ("ext", values["laboratoryExtPk"]))
    known = next((plan._labs[k] for k in keys if k in plan._labs), None)
    if known is None:
        known = len(plan.laboratories)
        plan.laboratories.append(Row("Laboratory", values, [path]))
    else:
        _merge(plan, plan.laboratories[known], values, path)
    for key in keys:
        plan._labs.setdefault(key, known)
    return known


def person(schema: SchemaInfo, plan: Plan, up: UPPerson, path: str) -> int:
    """The index of ``up`` among the document's persons (one per login or externalId), merged into it."""
    values = columns(schema, "Person", up, path, plan)
    by_login = plan._logins.get(up.login.casefold()) if up.login else None
    by_external = plan._external.get(up.externalId) if up.externalId is not None else None
    if by_login is not None and by_external is not None and by_login != by_external:
        plan.problem(path, "its login and its externalId name two different persons of the document")
    known = by_login if by_login is not None else by_external
    if known is None:
        known = len(plan.persons)
        plan.persons.append(PersonRow("Person", values, [path]))
    else:
        _merge(plan, plan.persons[known], values, path)
    if up.login:
        plan._logins.setdefault(up.login.casefold(), known)
    if up.externalId is not None:
        plan._external.setdefault(up.externalId, known)
    if up.laboratory is not None:
        lab = _laboratory(schema, plan, up.laboratory, f"{path}.laboratory")
        row = plan.persons[known]
        if row.laboratory is not None and row.laboratory != lab:
            plan.problem(f"{path}.laboratory", f"differs from the laboratory of {row.path}, the same person")
        row.laboratory = lab
    return known


def _unique(plan: Plan, rows: list[Row], name: str, what: str, fold: bool = False) -> None:
    """Each value of column ``name`` once among ``rows`` (a repeat is a problem at its path)."""
    seen: dict[Any, str] = {}
    for row in rows:
        value = row.values.get(name)
        if value is None:
            continue
        key = value.casefold() if fold and isinstance(value, str) else value
        if key in seen:
            plan.problem(f"{row.path}.{name}", f"repeats the {what} of {seen[key]}")
        seen.setdefault(key, row.path)


def _session_members(schema: SchemaInfo, plan: Plan, people: list[UPSessionPerson], path: str) -> list[Member]:
    members: list[Member] = []
    seen: dict[int, str] = {}
    for j, up in enumerate(people):
        where = f"{path}.persons[{j}]"
        index = person(schema, plan, up, where)
        if index in seen:
            plan.problem(where, f"the same person as {seen[index]}")
        seen.setdefault(index, where)
        options = up.session_options
        values = columns(schema, "Session_has_Person", options, f"{where}.session_options", plan) if options else {}
        members.append(Member(index, where, values))
    return members


def plan_of(schema: SchemaInfo, doc: UserPortalProposalSync) -> Plan:
    """The rows ``doc`` describes and the problems it has on its own."""
    plan = Plan()
    proposal = doc.proposal
    plan.proposal = Row("Proposal", columns(schema, "Proposal", proposal, "proposal", plan), ["proposal"])
    for i, up in enumerate(proposal.persons):
        where = f"proposal.persons[{i}]"
        plan.proposal_members.append(Member(person(schema, plan, up, where), where))
    for i, contact in enumerate(proposal.labcontacts or []):
        where = f"proposal.labcontacts[{i}]"
        row = Row("LabContact", columns(schema, "LabContact", contact, where, plan), [where])
        plan.lab_contacts.append((row, person(schema, plan, contact.person, f"{where}.person")))
    for i, session in enumerate(doc.sessions or []):
        where = f"sessions[{i}]"
        row = Row("BLSession", columns(schema, "BLSession", session, where, plan), [where])
        members = None if session.persons is None else _session_members(schema, plan, session.persons, where)
        plan.sessions.append((row, members))
        start, end = session.startDate, session.endDate
        if start is not None and end is not None and end < start:
            plan.problem(f"{where}.endDate", "the session ends before it starts")
    for i, protein in enumerate(doc.proteins or []):
        where = f"proteins[{i}]"
        row = Row("Protein", columns(schema, "Protein", protein, where, plan), [where])
        plan.proteins.append((row, person(schema, plan, protein.person, f"{where}.person")))
    sessions = [row for row, _ in plan.sessions]
    _unique(plan, sessions, "externalId", "externalId")
    _unique(plan, sessions, "expSessionPk", "expSessionPk")
    if schema.flavour == "dls":  # Diamond's BLSession is unique by proposal and visit_number
        _unique(plan, sessions, "visit_number", "visit_number")
    contacts = [row for row, _ in plan.lab_contacts]
    _unique(plan, contacts, "cardName", "cardName", fold=True)
    seen: dict[int, str] = {}
    for row, who in plan.lab_contacts:  # LabContact is unique by person and proposal
        if who in seen:
            plan.problem(f"{row.path}.person", f"has a lab contact already: {seen[who]}")
        seen.setdefault(who, row.path)
    proteins = [row for row, _ in plan.proteins]
    _unique(plan, proteins, "externalId", "externalId")
    _unique(plan, proteins, "acronym", "acronym", fold=True)
    return plan
