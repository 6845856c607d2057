"""How times are kept, and the one place that makes or converts them.

- **SQL** (ISPyB's columns, both flavours): naive wall-clock times of the facility, as ISPyB's DATETIME and
  TIMESTAMP columns hold them and as the facility's other ISPyB programs write them. The facility's zone is the
  local zone of the host the service runs on (there is no setting for it). New ones come from :func:`local_now`.
- **Documents** (MongoDB): aware UTC; the store's client reads them back aware. New ones come from :func:`utc_now`.
- **API**: ISO 8601 as pydantic writes it: SQL times as stored (no offset), document times in UTC (with one). A
  datetime a client sends for documents is read by :func:`as_utc`: naive means UTC.
"""

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator


def utc_now() -> datetime:
    """Now, aware UTC: for documents and tokens."""
    return datetime.now(UTC)


def to_sql(moment: datetime) -> datetime:
    """An aware moment as an ISPyB column holds it: the facility's (the host's) wall-clock time, naive."""
    return moment.astimezone().replace(tzinfo=None)


def local_now() -> datetime:
    """Now, as an ISPyB column holds it (naive facility-local time)."""
    return to_sql(utc_now())


def sql_midnight(day: date) -> datetime:
    """A DATE read where ISPyB keeps a DATETIME: that day's first moment, naive like every SQL time."""
    return datetime.combine(day, time())


def as_utc(moment: datetime) -> datetime:
    """A document time from a client or a store: naive means UTC, aware ones are converted to UTC."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the moment is out of range once converted to UTC") from None


#: a datetime a client sends to select documents (naive means UTC)
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
