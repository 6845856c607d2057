"""People and their permissions: Person → UserGroup_has_Person → UserGroup_has_Permission → Permission."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Permission, Person, UserGroupHasPermission, UserGroupHasPerson


async def person_by_login(session: AsyncSession, login: str) -> Person | None:
    """The person with this login, if any."""
    return (await session.execute(select(Person).where(Person.login == login).limit(1))).scalar_one_or_none()


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def permissions_of(session: AsyncSession, person_id: int) -> list[str]:
    """The distinct permission types granted to a person through their user groups."""
    query = (
        select(Permission.type)
        .join(UserGroupHasPermission, UserGroupHasPermission.permissionId == Permission.permissionId)
        .join(UserGroupHasPerson, UserGroupHasPerson.userGroupId == UserGroupHasPermission.userGroupId)
        .where(UserGroupHasPerson.personId == person_id)
        .distinct()
        .order_by(Permission.type)
    )
    return list((await session.execute(query)).scalars())
