"""Database refusals that are not faults of the service: a value SQLite cannot bind (422), and MariaDB giving up
on a transaction because of another one (deadlock, lock wait) or stopping its statement (killed, over its time
limit): 503 with Retry-After, nothing written."""

import asyncio
from pathlib import Path

import pymysql
import pytest
from sqlalchemy import select, text, update

from relational.db import Database
from relational.models import Person
from relational.refusals import DatabaseBusy, refusal
from schemas.errors import InvalidInput
from tests.conftest import Flavour


def test_an_integer_sqlite_cannot_bind_is_a_422(tmp_path: Path) -> None:
    async def run() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
        try:
            await database.start()
            async with database.sessions() as db:
                with pytest.raises(InvalidInput, match="outside the database column's range"):
                    await db.execute(select(Person).where(Person.personId == 2**70))
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.mark.commits  # two transactions of its own that must really contend
def test_a_deadlock_is_a_503_and_writes_nothing(flavour: Flavour) -> None:
    first, second = flavour.data.persons["sci_a"], flavour.data.persons["sci_b"]

    async def lock_both(database: Database, order: tuple[int, int], started: asyncio.Barrier) -> None:
        async with database.write_sessions() as db:
            rename = update(Person).values(givenName="deadlocked")
            await db.execute(rename.where(Person.personId == order[0]))
            await started.wait()  # each holds one row, then asks for the other's
            await db.execute(rename.where(Person.personId == order[1]))
            await db.commit()

    async def run() -> list[BaseException | None]:
        database = Database(flavour.url)
        try:
            started = asyncio.Barrier(2)
            outcomes = await asyncio.gather(
                lock_both(database, (first, second), started),
                lock_both(database, (second, first), started),
                return_exceptions=True,
            )
            async with database.sessions() as db:
                names = await db.scalars(text("SELECT givenName FROM Person WHERE personId IN (:a, :b)"),
                                         {"a": first, "b": second})  # fmt: skip
                renamed = [n for n in names if n == "deadlocked"]
            async with database.write_sessions() as db:  # leave the data set as it was
                await db.execute(update(Person).where(Person.personId == first).values(givenName="sci_a"))
                await db.execute(update(Person).where(Person.personId == second).values(givenName="sci_b"))
                await db.commit()
            assert len(renamed) == 2  # the winner's two rows; the loser wrote nothing of its own
            return [o if isinstance(o, BaseException) else None for o in outcomes]
        finally:
            await database.dispose()

    failures = [f for f in asyncio.run(run()) if f is not None]
    assert len(failures) == 1 and isinstance(failures[0], DatabaseBusy), failures
    assert failures[0].status == 503 and failures[0].headers == {"Retry-After": "1"}


@pytest.mark.parametrize("code", [1317, 1969])
def test_a_statement_the_database_stopped_is_its_refusal_not_a_fault(code: int) -> None:
    """Killed by an administrator (``KILL QUERY``: 1317) or over ``max_statement_time`` (1969): 503, retry."""
    answer = refusal(pymysql.err.OperationalError(code, "Query execution was interrupted"), is_disconnect=False)
    assert isinstance(answer, DatabaseBusy) and answer.status == 503 and answer.headers == {"Retry-After": "1"}
    assert "stopped this request's statement" in answer.detail
