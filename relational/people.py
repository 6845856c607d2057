"""People and their permissions: Person → UserGroup_has_Person → UserGroup_has_Permission → Permission."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from relational.models import Permission, Person, UserGroupHasPermission, UserGroupHasPerson
from relational.read_sessions import ReadSession


@dataclass(frozen=True)
class Standing:
    """What a token's person is now: their login and the distinct permission types of their groups."""

    login: str | None
    permissions: list[str]


async def person_by_login(session: ReadSession, login: str) -> Person | None:
    """The person with this login, if any."""
    return (await session.execute(select(Person).where(Person.login == login).limit(1))).scalar_one_or_none()


#: a person's names by id (a column SELECT: no ORM session, no entity of ~20 columns)
_NAMES = select(Person.personId, Person.givenName, Person.familyName).where(Person.personId == bindparam("id"))


async def names(session: ReadSession, person_id: int) -> dict[str, Any] | None:
    """A person's ``personId``, ``givenName`` and ``familyName``; None when no such person exists (any more)."""
    row = (await session.execute(_NAMES, {"id": person_id})).mappings().first()
    return None if row is None else dict(row)


async def standing(session: ReadSession, person_id: int) -> Standing | None:
    """The person's login and permissions in one round trip; None when no such person exists (any more)."""
    query = (
        select(Person.login, Permission.type)
        .outerjoin(UserGroupHasPerson, UserGroupHasPerson.personId == Person.personId)
        .outerjoin(UserGroupHasPermission, UserGroupHasPermission.userGroupId == UserGroupHasPerson.userGroupId)
        .outerjoin(Permission, Permission.permissionId == UserGroupHasPermission.permissionId)
        .where(Person.personId == person_id)
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return None
    return Standing(login=rows[0][0], permissions=sorted({kind for _, kind in rows if kind is not None}))


async def permissions_of(session: ReadSession, person_id: int) -> list[str]:
    """The distinct permission types granted to a person through their user groups (none for no person)."""
    found = await standing(session, person_id)
    return found.permissions if found else []
