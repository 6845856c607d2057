"""The time policy (schemas/times.py): SQL times naive facility-local, document times aware UTC."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from schemas.times import as_utc, local_now, sql_midnight, to_sql, utc_now

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
