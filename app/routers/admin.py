"""Administration: user groups, their permissions and people, and recent activity (py-ispyb's ``/admin``)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Response, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep, StateDep, WriteSessionDep, when_settled
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import Id, IdFilter
from app.routers.routing import Router
from relational import admin
from relational.common import Page
from relational.db import WriteSession
from schemas.admin import (
    ActionType,
    AdminActivity,
    AdminPermission,
    NewPermission,
    NewUserGroup,
    NewUserGroupPermission,
    NewUserGroupPerson,
    PermissionUpdate,
    UserGroup,
    UserGroupUpdate,
)
from schemas.common import Paged
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound

router = Router(prefix="/admin", tags=["Admin"], responses=responses(*AUTHENTICATED, Forbidden))
WRITE = responses(NotFound, Conflict, InvalidInput)
NO_CONTENT: dict[str, Any] = {"status_code": status.HTTP_204_NO_CONTENT, "response_class": Response}


def holding(permission: str) -> Callable[[IdentityDep], Awaitable[None]]:
    """A dependency refusing (403) a caller without ``permission``."""

    async def check(identity: IdentityDep) -> None:
        if permission not in identity.permissions:
            raise Forbidden(f"This needs the `{permission}` permission")

    return check


GROUPS, PERMS = [Depends(holding("manage_groups"))], [Depends(holding("manage_perms"))]


def _forget_permissions(db: WriteSession, state: StateDep) -> None:
    """Once committed, this worker re-reads everyone's permissions (others within ISPYB_PERMISSION_CACHE_SECONDS)."""

    async def forget(committed: bool) -> None:
        if committed:
            state.permissions.clear()

    when_settled(db, forget)


async def _group(db: WriteSession, group_id: int) -> dict[str, Any]:
    return (await admin.get_groups(db, Page(0, 1), group_id))[1][0]


@router.get("/groups", response_model=Paged[UserGroup], dependencies=GROUPS)
async def get_groups(db: ReadSessionDep, page: PageDep, userGroupId: IdFilter = None) -> dict[str, object]:
    """User groups with their numbers of permissions and people (permission `manage_groups`)."""
    total, rows = await admin.get_groups(db, page, userGroupId)
    return listed(rows, total, page)


@router.post("/groups", response_model=UserGroup, status_code=201, dependencies=GROUPS, responses=WRITE)
async def add_group(body: NewUserGroup, db: WriteSessionDep, schema: SchemaDep) -> dict[str, Any]:
    """A new user group; its name is unique (permission `manage_groups`)."""
    return await _group(db, await admin.add_group(db, schema, body.name))


@router.patch("/groups/{userGroupId}", response_model=UserGroup, dependencies=GROUPS, responses=WRITE)
async def update_group(userGroupId: Id, body: UserGroupUpdate, db: WriteSessionDep, schema: SchemaDep) -> Any:
    """Rename a user group (permission `manage_groups`)."""
    await admin.update_group(db, schema, userGroupId, body.model_dump(exclude_unset=True))
    return await _group(db, userGroupId)


@router.post("/groups/{userGroupId}/permission", **NO_CONTENT, dependencies=GROUPS, responses=WRITE)
async def add_permission_to_group(
    userGroupId: Id, body: NewUserGroupPermission, db: WriteSessionDep, state: StateDep
) -> None:
    """Give a group a permission (permission `manage_groups`)."""
    await admin.add_permission_to_group(db, userGroupId, body.permissionId)
    _forget_permissions(db, state)


@router.delete("/groups/{userGroupId}/permission/{permissionId}", **NO_CONTENT, dependencies=GROUPS, responses=WRITE)
async def remove_permission_from_group(userGroupId: Id, permissionId: Id, db: WriteSessionDep, state: StateDep) -> None:
    """Take a permission from a group (permission `manage_groups`)."""
    await admin.remove_permission_from_group(db, userGroupId, permissionId)
    _forget_permissions(db, state)


@router.post("/groups/{userGroupId}/person", **NO_CONTENT, dependencies=GROUPS, responses=WRITE)
async def add_person_to_group(userGroupId: Id, body: NewUserGroupPerson, db: WriteSessionDep, state: StateDep) -> None:
    """Put a person in a group (permission `manage_groups`)."""
    await admin.add_person_to_group(db, userGroupId, body.personId)
    _forget_permissions(db, state)


@router.delete("/groups/{userGroupId}/person/{personId}", **NO_CONTENT, dependencies=GROUPS, responses=WRITE)
async def remove_person_from_group(userGroupId: Id, personId: Id, db: WriteSessionDep, state: StateDep) -> None:
    """Take a person out of a group (permission `manage_groups`)."""
    await admin.remove_person_from_group(db, userGroupId, personId)
    _forget_permissions(db, state)


@router.get("/permissions", response_model=Paged[AdminPermission], dependencies=PERMS)
async def get_permissions(
    db: ReadSessionDep,
    page: PageDep,
    permissionId: IdFilter = None,
    userGroupId: IdFilter = None,
    search: Annotated[str | None, Query(max_length=15)] = None,
) -> dict[str, object]:
    """Permissions: by id, of a group, or whose type contains ``search`` (permission `manage_perms`)."""
    total, rows = await admin.get_permissions(db, page, permissionId, userGroupId, search)
    return listed(rows, total, page)


@router.post("/permissions", response_model=AdminPermission, status_code=201, dependencies=PERMS, responses=WRITE)
async def add_permission(body: NewPermission, db: WriteSessionDep, schema: SchemaDep) -> dict[str, Any]:
    """A new permission; its type is unique (permission `manage_perms`)."""
    permission_id = await admin.add_permission(db, schema, body.model_dump())
    return (await admin.get_permissions(db, Page(0, 1), permission_id))[1][0]


@router.patch("/permissions/{permissionId}", response_model=AdminPermission, dependencies=PERMS, responses=WRITE)
async def update_permission(
    permissionId: Id, body: PermissionUpdate, db: WriteSessionDep, schema: SchemaDep, state: StateDep
) -> dict[str, Any]:
    """Change a permission's type or description (permission `manage_perms`)."""
    await admin.update_permission(db, schema, permissionId, body.model_dump(exclude_unset=True))
    _forget_permissions(db, state)
    return (await admin.get_permissions(db, Page(0, 1), permissionId))[1][0]


@router.get("/activity", response_model=Paged[AdminActivity], dependencies=[Depends(holding("view_activity"))])
async def get_activity(
    db: ReadSessionDep, schema: SchemaDep, page: PageDep, action_type: ActionType | None = None
) -> dict[str, object]:
    """The ``AdminActivity`` log, newest first (permission `view_activity`)."""
    total, rows = await admin.get_activity(db, schema, page, action_type)
    return listed(rows, total, page)
