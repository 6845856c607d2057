"""People (py-ispyb's ``pyispyb/core/schemas/persons.py``)."""

from datetime import datetime

from pydantic import Field

from schemas.common import ApiModel


class PersonMetaData(ApiModel):
    """Given with ``sessionId``: the person on that session."""

    sessions: int | None = Field(None, description="Sessions before this one the person was on (that you see)")
    lastSession: datetime | None = Field(None, description="The last of those sessions' start")
    role: str | None = None
    remote: bool | None = None


class Person(ApiModel):
    personId: int
    givenName: str | None
    familyName: str | None
    metadata: PersonMetaData | None = Field(None, alias="_metadata")
