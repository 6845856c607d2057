"""The time policy (schemas/times.py): SQL times naive facility-local, document times aware UTC."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas.times import as_utc, from_sql, local_now, sql_midnight, to_sql, utc_now

ROOT = Path(__file__).resolve().parent.parent
#: making or converting a time anywhere but schemas/times.py
_OWN_TIME = re.compile(r"datetime\.(now|utcnow|today|fromtimestamp|utcfromtimestamp)\(|\.astimezone\(|tzinfo=")


@pytest.fixture
def kolkata(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is UTC+05:30 (no daylight saving) for one test."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_utc_now_is_aware_utc() -> None:
    assert utc_now().utcoffset() == timedelta(0)


def test_sql_times_are_the_hosts_naive_wall_clock(kolkata: None) -> None:
    assert to_sql(datetime(2024, 5, 1, 12, tzinfo=UTC)) == datetime(2024, 5, 1, 17, 30)
    assert to_sql(datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == datetime(2024, 5, 1, 15, 30)
    before, now, after = utc_now(), local_now(), utc_now()
    assert now.tzinfo is None
    offset = timedelta(hours=5, minutes=30)
    assert (before + offset).replace(tzinfo=None) <= now <= (after + offset).replace(tzinfo=None)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is America/New_York (UTC-5, daylight saving UTC-4) for one test."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_sql_times_read_back_as_the_moment_they_name(kolkata: None) -> None:
    assert from_sql(datetime(2024, 5, 1, 17, 30)) == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert from_sql(datetime(2024, 5, 1, 17, 30)).tzinfo is UTC
    for moment in (datetime(1970, 1, 1, tzinfo=UTC), datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)):
        assert from_sql(to_sql(moment)) == moment


def test_sql_times_across_daylight_saving(new_york: None) -> None:
    assert from_sql(datetime(2024, 1, 15, 12)) == datetime(2024, 1, 15, 17, tzinfo=UTC)  # EST
    assert from_sql(datetime(2024, 7, 15, 12)) == datetime(2024, 7, 15, 16, tzinfo=UTC)  # EDT
    # 01:30 on 3 November 2024 happened twice (EDT, then EST): the first of the two
    assert from_sql(datetime(2024, 11, 3, 1, 30)) == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    # every moment of a day with a change reads back as itself
    start = datetime(2024, 3, 10, 4, tzinfo=UTC)
    for minutes in range(0, 24 * 60, 15):
        moment = start + timedelta(minutes=minutes)
        assert from_sql(to_sql(moment)) == moment


def test_sql_times_at_the_ends_of_time(new_york: None) -> None:
    """West of Greenwich, year 9999's last hours lie past the last UTC moment a datetime holds: that moment."""
    assert from_sql(datetime(9999, 12, 31, 23, 30)) == datetime.max.replace(tzinfo=UTC)
    # year 1's first hour lies within: it reads back as itself (the zone's offset then is its local mean time)
    assert to_sql(from_sql(datetime(1, 1, 1))) == datetime(1, 1, 1)
    assert timedelta(hours=4) < from_sql(datetime(1, 1, 1)) - datetime.min.replace(tzinfo=UTC) < timedelta(hours=6)


def test_sql_times_at_the_ends_of_time_east(kolkata: None) -> None:
    """East of Greenwich, year 1's first hours lie before the first UTC moment a datetime holds: that moment."""
    assert from_sql(datetime(1, 1, 1, 2)) == datetime.min.replace(tzinfo=UTC)
    assert from_sql(datetime(9999, 12, 31)) == datetime(9999, 12, 30, 18, 30, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert from_sql(last) == last.replace(tzinfo=UTC) - timedelta(hours=5, minutes=30)


def test_a_date_reads_as_naive_midnight() -> None:
    assert sql_midnight(date(2024, 5, 1)) == datetime(2024, 5, 1)


def test_client_times_naive_means_utc(kolkata: None) -> None:
    assert as_utc(datetime(2024, 5, 1, 12)) == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert as_utc(datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert as_utc(datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))).tzinfo is UTC
    with pytest.raises(ValueError, match="out of range"):
        as_utc(datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))))


def test_only_the_time_module_makes_or_converts_times() -> None:
    """Elsewhere code calls schemas.times (ruff's DTZ rules catch naive clocks; this catches the rest)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for floor in ("app", "relational", "documents", "schemas")
        for path in sorted((ROOT / floor).rglob("*.py"))
        if path != ROOT / "schemas" / "times.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _OWN_TIME.search(line)
    ]
    assert offenders == []
