"""Administration: user groups, their permissions and people (UserGroup, Permission and their links), and the
activity log. Unknown ids are 404, a duplicate name or link 409; every caller here holds a ``manage_*``
permission (checked by the router), so nothing is scoped by proposal."""

from typing import Any

from sqlalchemy import delete, func, select

from relational.common import Page, paged, where_given
from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.models import Permission, Person, UserGroup, UserGroupHasPermission, UserGroupHasPerson
from relational.models.admin import AdminActivity
from relational.reach import flush_or_conflict
from relational.read_sessions import ReadSession
from schemas.errors import Conflict, InvalidInput, NotFound


def _fit(schema: SchemaInfo, table: str, given: dict[str, Any], required: tuple[str, ...]) -> None:
    """Refuse a null for a required column, and text the column's character set cannot keep."""
    for name, value in given.items():
        if value is None and name in required:
            raise InvalidInput(f"`{name}` cannot be null")
        if isinstance(value, str) and not schema.fits(table, name, value):
            raise InvalidInput(f"`{name}` has characters {table}.{name} cannot keep")


async def get_groups(db: ReadSession, page: Page, userGroupId: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """User groups by id, each with how many permissions and people it has."""
    permissions = (
        select(func.count())
        .where(UserGroupHasPermission.userGroupId == UserGroup.userGroupId)
        .correlate(UserGroup)
        .scalar_subquery()
    )
    people = (
        select(func.count())
        .where(UserGroupHasPerson.userGroupId == UserGroup.userGroupId)
        .correlate(UserGroup)
        .scalar_subquery()
    )
    query = select(
        UserGroup.userGroupId, UserGroup.name, permissions.label("permissions"), people.label("people")
    ).order_by(UserGroup.userGroupId)
    total, rows = await paged(db, where_given(query, (UserGroup.userGroupId, userGroupId)), page)
    return total, [r | {"_metadata": {"permissions": r.pop("permissions"), "people": r.pop("people")}} for r in rows]


async def _group(db: ReadSession, group_id: int) -> UserGroup:
    group = await db.get(UserGroup, group_id)
    if group is None:
        raise NotFound(f"No such group: `{group_id}`")
    return group


async def _unique_name(db: ReadSession, name: str, but: int | None = None) -> None:
    query = select(UserGroup.userGroupId).where(UserGroup.name == name, UserGroup.userGroupId != (but or 0))
    if (await db.execute(query.limit(1))).first():
        raise Conflict(f"UserGroup `{name}` already exists")


async def add_group(db: WriteSession, schema: SchemaInfo, name: str) -> int:
    _fit(schema, "UserGroup", {"name": name}, ("name",))
    await _unique_name(db, name)
    group = UserGroup(name=name)
    db.add(group)
    await flush_or_conflict(db, f"UserGroup `{name}`")
    return group.userGroupId


async def update_group(db: WriteSession, schema: SchemaInfo, group_id: int, given: dict[str, Any]) -> None:
    group = await _group(db, group_id)
    _fit(schema, "UserGroup", given, ("name",))
    if "name" in given:
        await _unique_name(db, given["name"], but=group_id)
        group.name = given["name"]
    await flush_or_conflict(db, f"UserGroup `{group_id}`")


async def _linked(db: ReadSession, link: Any, group_id: int, column: Any, other_id: int) -> bool:
    query = select(link.userGroupId).where(link.userGroupId == group_id, column == other_id)
    return (await db.execute(query.limit(1))).first() is not None


async def add_permission_to_group(db: WriteSession, group_id: int, permission_id: int) -> None:
    await _group(db, group_id)
    if await db.get(Permission, permission_id) is None:
        raise NotFound(f"No such permission: `{permission_id}`")
    if await _linked(db, UserGroupHasPermission, group_id, UserGroupHasPermission.permissionId, permission_id):
        raise Conflict(f"UserGroup `{group_id}` already has permission `{permission_id}`")
    db.add(UserGroupHasPermission(userGroupId=group_id, permissionId=permission_id))
    await flush_or_conflict(db, f"Permission `{permission_id}` for group `{group_id}`")


async def add_person_to_group(db: WriteSession, group_id: int, person_id: int) -> None:
    await _group(db, group_id)
    if await db.get(Person, person_id) is None:
        raise NotFound(f"No such person: `{person_id}`")
    if await _linked(db, UserGroupHasPerson, group_id, UserGroupHasPerson.personId, person_id):
        raise Conflict(f"UserGroup `{group_id}` already contains person `{person_id}`")
    db.add(UserGroupHasPerson(userGroupId=group_id, personId=person_id))
    await flush_or_conflict(db, f"Person `{person_id}` in group `{group_id}`")


async def remove_permission_from_group(db: WriteSession, group_id: int, permission_id: int) -> None:
    await _group(db, group_id)
    link = delete(UserGroupHasPermission).where(
        UserGroupHasPermission.userGroupId == group_id, UserGroupHasPermission.permissionId == permission_id
    )
    if not (await db.execute(link)).rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"UserGroup `{group_id}` has no permission `{permission_id}`")


async def remove_person_from_group(db: WriteSession, group_id: int, person_id: int) -> None:
    await _group(db, group_id)
    link = delete(UserGroupHasPerson).where(
        UserGroupHasPerson.userGroupId == group_id, UserGroupHasPerson.personId == person_id
    )
    if not (await db.execute(link)).rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"UserGroup `{group_id}` has no person `{person_id}`")


async def get_permissions(
    db: ReadSession,
    page: Page,
    permissionId: int | None = None,
    userGroupId: int | None = None,
    search: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Permissions by id; of one group; whose type contains ``search``."""
    query = select(Permission.permissionId, Permission.type, Permission.description).order_by(Permission.permissionId)
    query = where_given(query, (Permission.permissionId, permissionId))
    if userGroupId is not None:
        query = query.where(
            Permission.permissionId.in_(
                select(UserGroupHasPermission.permissionId).where(UserGroupHasPermission.userGroupId == userGroupId)
            )
        )
    if search:
        query = query.where(Permission.type.contains(search, autoescape=True))
    return await paged(db, query, page)


async def _unique_type(db: ReadSession, kind: str, but: int | None = None) -> None:
    query = select(Permission.permissionId).where(Permission.type == kind, Permission.permissionId != (but or 0))
    if (await db.execute(query.limit(1))).first():
        raise Conflict(f"Permission type `{kind}` already exists")


async def add_permission(db: WriteSession, schema: SchemaInfo, given: dict[str, Any]) -> int:
    _fit(schema, "Permission", given, ("type",))
    await _unique_type(db, given["type"])
    permission = Permission(type=given["type"], description=given.get("description"))
    db.add(permission)
    await flush_or_conflict(db, f"Permission `{given['type']}`")
    return permission.permissionId


async def update_permission(db: WriteSession, schema: SchemaInfo, permission_id: int, given: dict[str, Any]) -> None:
    permission = await db.get(Permission, permission_id)
    if permission is None:
        raise NotFound(f"No such permission: `{permission_id}`")
    _fit(schema, "Permission", given, ("type",))
    if "type" in given:
        await _unique_type(db, given["type"], but=permission_id)
        permission.type = given["type"]
    if "description" in given:
        permission.description = given["description"]
    await flush_or_conflict(db, f"Permission `{permission_id}`")


async def get_activity(
    db: ReadSession, schema: SchemaInfo, page: Page, action: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """The activity log, newest first; empty where the database has no ``AdminActivity``."""
    if not schema.has_table("AdminActivity"):
        return 0, []
    query = select(
        AdminActivity.username, AdminActivity.action, AdminActivity.comments, AdminActivity.dateTime
    ).order_by(AdminActivity.dateTime.desc(), AdminActivity.adminActivityId.desc())
    return await paged(db, where_given(query, (AdminActivity.action, action)), page)
