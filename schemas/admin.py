"""Administration: py-ispyb's user groups, permissions and activity (``pyispyb/core/schemas/admin``)."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import ApiModel


class NewUserGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(title="Name", description="The name of the group", min_length=1, max_length=31)


class UserGroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, title="Name", description="The name of the group", min_length=1, max_length=31)


class UserGroupMetaData(ApiModel):
    permissions: int = Field(description="Number of permissions")
    people: int = Field(description="Number of people")


class UserGroup(ApiModel):
    userGroupId: int
    name: str
    metadata: UserGroupMetaData = Field(alias="_metadata")


class NewUserGroupPermission(BaseModel):
    permissionId: int = Field(title="Permission", ge=1, le=2**32 - 1)


class NewUserGroupPerson(BaseModel):
    personId: int = Field(title="Person", ge=1, le=2**32 - 1)


class NewPermission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(title="Permission", description="The permission identifier", min_length=1, max_length=15)
    description: str | None = Field(None, title="Description", max_length=100)


class PermissionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, title="Permission", min_length=1, max_length=15)
    description: str | None = Field(None, title="Description", max_length=100)


class AdminPermission(ApiModel):
    """py-ispyb's ``Permission``."""

    permissionId: int
    type: str
    description: str | None = None


class ActionType(StrEnum):
    db_options = "db_options"
    online = "online"


class AdminActivity(ApiModel):
    username: str
    action: str | None
    comments: str | None
    dateTime: datetime | None
