"""The facility's administration tables: name/value options and an activity log."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class AdminVar(Base):
    """py-ispyb's options, one JSON value per name (``name`` is not unique in the schema)."""

    __tablename__ = "AdminVar"

    varId: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None]
    value: Mapped[str | None] = mapped_column(String(1024))


class AdminActivity(Base):
    """One row per user name (its unique key): the user's last recorded action. ``info["optional"]``: a database
    may lack it, the activity list is then empty."""

    __tablename__ = "AdminActivity"
    __table_args__ = {"info": {"optional": True}}

    adminActivityId: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str]
    action: Mapped[str | None]
    comments: Mapped[str | None]
    dateTime: Mapped[datetime | None]
