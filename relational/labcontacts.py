"""Lab contacts: who sends and receives a proposal's shipments, scoped to the caller."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from relational.common import Page, columns, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.models import LabContact, Person, Proposal
from relational.reach import flush_or_conflict, proposal_in_reach
from relational.scope import Scope
from schemas.samples import LabContactCreate

_PERSON = (Person.personId, Person.givenName, Person.familyName, Person.emailAddress, Person.phoneNumber)


async def get_labcontacts(
    db: AsyncSession, scope: Scope, page: Page, *, labContactId: int | None = None, proposal: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Visible lab contacts, by card name, each with its ``Person``."""
    query = (
        select(*columns(LabContact, "personId", "dewarAvgCustomsValue", "dewarAvgTransportValue"), *_PERSON)
        .join(Person, Person.personId == LabContact.personId)
        .join(Proposal, Proposal.proposalId == LabContact.proposalId)
        .where(scope.proposals(LabContact.proposalId))
        .order_by(LabContact.cardName, LabContact.labContactId)
    )
    query = where_given(query, (LabContact.labContactId, labContactId), (proposal_name, proposal or None))
    total, rows = await paged(db, query, page)
    for row in rows:
        row["Person"] = {c.key: row.pop(c.key) for c in _PERSON}
    return total, rows


async def create_labcontact(db: WriteSession, scope: Scope, data: LabContactCreate) -> int:
    """A lab contact in a proposal the caller reaches, for an existing person or a new one."""
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
        person = Person(**data.Person.model_dump())
        db.add(person)
        await flush_or_conflict(db, "Person")
        person_id = person.personId
    elif await db.get(Person, person_id) is None:
        raise Conflict(f"Person {person_id} does not exist")
    contact = LabContact(**data.model_dump(exclude={"Person", "personId"}), personId=person_id)
    db.add(contact)
    await flush_or_conflict(db, f"Lab contact `{data.cardName}`")
    return contact.labContactId
