"""Lab contacts: who sends and receives a proposal's shipments, with their person and laboratory, scoped to the
caller."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, null, select, table, update

from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, columns, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.models import LabContact, Laboratory, Person, Proposal
from relational.reach import flush_or_conflict, owner_in_reach, proposal_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import Conflict, InvalidInput
from schemas.samples import LabContactCreate, LabContactUpdate, LaboratoryIn, PersonUpdate

_PERSON = (Person.personId, Person.givenName, Person.familyName, Person.emailAddress, Person.phoneNumber)
_LAB = ("laboratoryId", "name", "address", "city", "country", "url")
#: Laboratory fields only some databases have: API field → its column, the first of these the database has
_LAB_OPTIONAL = {"postcode": ("postcode",), "laboratoryExtPk": ("laboratoryExtPk", "laboratoryPk")}


def _lab_column(schema: SchemaInfo, field: str) -> str | None:
    live = schema.columns.get("Laboratory", frozenset())
    return next((name for name in _LAB_OPTIONAL[field] if name.lower() in live), None)


def _lab_columns(schema: SchemaInfo) -> list[ColumnElement[Any]]:
    """The laboratory's columns labelled ``lab_<field>``, NULL for a field this database lacks."""
    shared = [getattr(Laboratory, f).label(f"lab_{f}") for f in _LAB]
    optional = []
    for field in _LAB_OPTIONAL:
        name = _lab_column(schema, field)
        optional.append((literal_column(f"Laboratory.{name}") if name else null()).label(f"lab_{field}"))
    return shared + optional


async def get_labcontacts(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    *,
    labContactId: int | None = None,
    proposal: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible lab contacts, by card name, each with its ``Person`` and the person's ``Laboratory`` (py-ispyb's
    nesting)."""
    query = _visible(scope, schema).order_by(*_ORDER)
    query = where_given(query, (LabContact.labContactId, labContactId), (proposal_name, proposal or None))
    total, rows = await paged(db, query, page)
    return total, [_nested(row) for row in rows]


def _visible(scope: Scope, schema: SchemaInfo) -> AnySelect:
    """Lab contacts the caller sees, flat: with their person's and laboratory's fields (no order)."""
    return (
        select(*columns(LabContact, "personId"), *_PERSON, *_lab_columns(schema))
        .join(Person, Person.personId == LabContact.personId)
        .outerjoin(Laboratory, Laboratory.laboratoryId == Person.laboratoryId)
        .join(Proposal, Proposal.proposalId == LabContact.proposalId)
        .where(scope.proposals(LabContact.proposalId))
    )


_ORDER = (LabContact.cardName, LabContact.labContactId)


def _nested(row: dict[str, Any]) -> dict[str, Any]:
    """py-ispyb's nesting: ``Person`` → ``Laboratory`` (null when the person has none)."""
    lab = {f: row.pop(f"lab_{f}") for f in (*_LAB, *_LAB_OPTIONAL)}
    row["Person"] = {c.key: row.pop(c.key) for c in _PERSON}
    row["Person"]["Laboratory"] = lab if lab["laboratoryId"] is not None else None
    return row


async def of_proposals(
    db: ReadSession, scope: Scope, schema: SchemaInfo, proposal_ids: Sequence[int], page: Page
) -> dict[int, Slice]:
    """Per proposal, that page of its visible lab contacts by card name, nested as the list nests them."""
    found = await by_parent(db, _visible(scope, schema), LabContact.proposalId, proposal_ids, _ORDER, page)
    for part in found.values():
        part.rows = [_nested(row) for row in part.rows]
    return found


async def by_labcontact_ids(
    db: ReadSession, scope: Scope, schema: SchemaInfo, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The visible lab contacts among ``ids``, nested as the list nests them."""
    found = await by_ids(db, _visible(scope, schema), LabContact.labContactId, ids)
    return {key: _nested(row) for key, row in found.items()}


async def _add_laboratory(db: WriteSession, schema: SchemaInfo, lab: LaboratoryIn) -> int:
    """A new Laboratory row; a field this database has no column for is refused (422) before anything is written."""
    extra: dict[str, Any] = {}
    for field in _LAB_OPTIONAL:
        if (value := getattr(lab, field)) is None:
            continue
        if (name := _lab_column(schema, field)) is None:
            raise InvalidInput(f"`Person.Laboratory.{field}`: this database keeps no {field} for a laboratory")
        extra[name] = value
    laboratory = Laboratory(**lab.model_dump(exclude=set(_LAB_OPTIONAL)))
    db.add(laboratory)
    await flush_or_conflict(db, "Laboratory")
    if extra:
        live = table("Laboratory", column("laboratoryId"), *(column(name) for name in extra))
        await db.execute(update(live).where(live.c.laboratoryId == laboratory.laboratoryId).values(extra))
    return laboratory.laboratoryId


async def create_labcontact(db: WriteSession, scope: Scope, schema: SchemaInfo, data: LabContactCreate) -> int:
    """A lab contact in a proposal the caller reaches, for an existing person or a new one (with, if given, their
    new laboratory)."""
    await proposal_in_reach(db, scope, data.proposalId)
    taken = await db.scalar(
        select(LabContact.labContactId).where(
            LabContact.proposalId == data.proposalId, LabContact.cardName == data.cardName
        )
    )
    if taken is not None:
        raise Conflict(f"Proposal {data.proposalId} already has a lab contact `{data.cardName}` ({taken})")
    person_id = data.personId
    if data.Person is not None:
        lab = data.Person.Laboratory
        lab_id = None if lab is None else await _add_laboratory(db, schema, lab)
        person = Person(**data.Person.model_dump(exclude={"Laboratory"}), laboratoryId=lab_id)
        db.add(person)
        await flush_or_conflict(db, "Person")
        person_id = person.personId
    elif await db.get(Person, person_id) is None:
        raise Conflict(f"Person {person_id} does not exist")
    values = data.model_dump(exclude={"Person", "personId"}, exclude_none=True)
    contact = LabContact(**values, personId=person_id)
    db.add(contact)
    await flush_or_conflict(db, f"Lab contact `{data.cardName}`")
    return contact.labContactId


async def update_labcontact(
    db: WriteSession, scope: Scope, schema: SchemaInfo, contact_id: int, patch: LabContactUpdate
) -> None:
    """Change the given fields of a lab contact the caller reaches, and of its person and their laboratory. A person
    with a login is an account (the user office's), or one who is a contact of proposals the caller does not reach:
    refused (409); so is a laboratory other persons share, or one the person does not have."""
    proposal_id = await owner_in_reach(db, scope, "labcontact", contact_id)
    contact = await db.get(LabContact, contact_id)
    assert contact is not None
    changes = patch.model_dump(exclude_unset=True, exclude={"Person"})
    if (card := changes.get("cardName")) is not None and card != contact.cardName:
        taken = await db.scalar(
            select(LabContact.labContactId).where(LabContact.proposalId == proposal_id, LabContact.cardName == card)
        )
        if taken is not None:
            raise Conflict(f"Proposal {proposal_id} already has a lab contact `{card}` ({taken})")
    for key, value in changes.items():
        setattr(contact, key, value)
    if patch.Person is not None:
        await _update_person(db, scope, schema, contact.personId, patch.Person)
    await flush_or_conflict(db, f"Lab contact {contact_id}")


async def _update_person(
    db: WriteSession, scope: Scope, schema: SchemaInfo, person_id: int, patch: PersonUpdate
) -> None:
    person = await db.get(Person, person_id)
    assert person is not None
    if person.login is not None:
        raise Conflict(f"Person {person_id} has an account: their details are the user office's")
    elsewhere = await db.scalar(
        select(func.count())
        .select_from(LabContact)
        .where(LabContact.personId == person_id, ~scope.proposals(LabContact.proposalId))
    )
    if elsewhere:
        raise Conflict(f"Person {person_id} is also a lab contact of proposals beyond yours")
    for key, value in patch.model_dump(exclude_unset=True, exclude={"Laboratory"}).items():
        setattr(person, key, value)
    if patch.Laboratory is None:
        return
    lab_id = person.laboratoryId
    if lab_id is None:
        raise Conflict(f"Person {person_id} has no laboratory to change")
    sharing = await db.scalar(
        select(func.count()).select_from(Person).where(Person.laboratoryId == lab_id, Person.personId != person_id)
    )
    if sharing:
        raise Conflict(f"Laboratory {lab_id} is shared by {sharing} other persons: changing it would change theirs")
    changes = patch.Laboratory.model_dump(exclude_unset=True)
    extra: dict[str, Any] = {}
    for field in _LAB_OPTIONAL:
        if field not in changes:
            continue
        if (name := _lab_column(schema, field)) is None:
            raise InvalidInput(f"`Person.Laboratory.{field}`: this database keeps no {field} for a laboratory")
        extra[name] = changes.pop(field)
    if changes:
        await db.execute(update(Laboratory).where(Laboratory.laboratoryId == lab_id).values(changes))
    if extra:
        live = table("Laboratory", column("laboratoryId"), *(column(name) for name in extra))
        await db.execute(update(live).where(live.c.laboratoryId == lab_id).values(extra))
