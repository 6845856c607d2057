"""How times are kept, and the one place that makes or converts them.

- **SQL** (ISPyB's columns, both flavours): naive wall-clock times of the facility, as ISPyB's DATETIME and
  TIMESTAMP columns hold them and as the facility's other ISPyB programs write them. The facility's zone is the
  local zone of the host the service runs on (there is no setting for it). New ones come from :func:`local_now`.
- **Documents** (MongoDB): aware UTC; the store's client reads them back aware. New ones come from :func:`utc_now`.
- **Both**: an SQL time shown beside documents (a timeline, a logbook copy of a row) is converted by
  :func:`from_sql`, the one way from the facility's wall clock to UTC.
- **API**: ISO 8601 as pydantic writes it: SQL times as stored (no offset), document times in UTC (with one). A
  datetime a client sends for documents is read by :func:`as_utc`: naive means UTC.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator

#: the first and last times a datetime holds, naive, and the moment Unix time counts from
SQL_FIRST, SQL_LAST = datetime.combine(date.min, time()), datetime.combine(date.max, time.max)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PROBE_MARGIN = timedelta(days=2)


def utc_now() -> datetime:
    """Now, aware UTC: for documents and tokens."""
    return datetime.now(UTC)


def from_epoch(seconds: float) -> datetime:
    """A Unix time (a JWT's ``exp``), aware UTC."""
    return EPOCH + timedelta(seconds=seconds)


def to_sql(moment: datetime) -> datetime:
    """An aware moment as an ISPyB column holds it: the facility's (the host's) wall-clock time, naive."""
    return moment.astimezone().replace(tzinfo=None)


def from_sql(local: datetime) -> datetime:
    """A naive facility-local SQL time as the aware UTC moment it names (in the hour a DST change repeats, the
    first of the two). Hours from the ends of time, whose moment lies beyond what a datetime holds (year 9999 west
    of Greenwich, year 1 east of it): the last or first moment, so a row's time never fails a request."""
    guess = local.replace(tzinfo=UTC)
    probe = min(max(local, SQL_FIRST + _PROBE_MARGIN), SQL_LAST - _PROBE_MARGIN)  # convertible both ways
    try:
        moment = guess - (to_sql(probe.replace(tzinfo=UTC)) - probe)  # the facility's offset from UTC near then
        shift = to_sql(moment) - local  # non-zero when a DST change lies between the guess and the moment
        return moment - shift
    except OverflowError:
        return (SQL_LAST if local.year > 1 else SQL_FIRST).replace(tzinfo=UTC)


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
