"""The read pool (relational/db.py, ``create_engine(reads=True)``): connections in autocommit that go back to the
pool with no round trip, each SELECT reading the latest committed rows, pinged only after a spell unused."""

import asyncio
import uuid
from collections.abc import Callable, Iterator

import pymysql
import pytest
from sqlalchemy import Executable, column, func, literal_column, select, table
from sqlalchemy.pool import QueuePool

from relational import db as relational_db
from relational.connection import Timeouts
from relational.db import Database
from relational.read_sessions import ReadOnlySession, ReadSession, beside
from relational.refusals import DatabaseUnavailable
from tests.conftest import MARIADB, mariadb

COUNTER = table("counter", column("n"))


@pytest.fixture
def database_name() -> Iterator[str]:
    name = f"ispyb_readpool_{uuid.uuid4().hex[:8]}"
    mariadb(
        "-e",
        f"CREATE DATABASE `{name}`; CREATE TABLE `{name}`.counter (n INT); INSERT INTO `{name}`.counter VALUES (1)",
    )
    yield name
    mariadb("-e", f"DROP DATABASE IF EXISTS `{name}`")


def _server() -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", user="root", autocommit=True)


def test_a_read_sees_each_commit_and_leaves_no_transaction_open(database_name: str) -> None:
    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}")
        try:
            async with database.read_sessions() as db:
                assert (await db.execute(select(func.sum(COUNTER.c.n)))).scalar_one() == 1
                with _server() as other:
                    other.cursor().execute(f"INSERT INTO `{database_name}`.counter VALUES (2)")
                assert (await db.execute(select(func.sum(COUNTER.c.n)))).scalar_one() == 3  # not a snapshot
                in_transaction: int = (await db.execute(select(literal_column("@@in_transaction")))).scalar_one()
                assert in_transaction == 0
        finally:
            await database.dispose()

    asyncio.run(run())


def test_a_connection_dropped_while_idle_is_replaced_at_its_next_checkout(
    database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unused for READ_IDLE_PING seconds, a pooled connection is pinged at checkout, and one the server dropped is
    replaced; used more recently than that, it is not pinged, and a dropped one fails that request with a 503."""

    async def connection_id(database: Database) -> int:
        async with database.read_sessions() as db:
            return int((await db.execute(select(func.connection_id()))).scalar_one())

    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}", pool_size=1)
        try:
            monkeypatch.setattr(relational_db, "READ_IDLE_PING", 0.0)
            first = await connection_id(database)
            with _server() as other:
                other.cursor().execute(f"KILL CONNECTION {first}")
            second = await connection_id(database)
            assert second != first  # the ping found it dead: the pool opened another
            monkeypatch.setattr(relational_db, "READ_IDLE_PING", 3600.0)
            with _server() as other:
                other.cursor().execute(f"KILL CONNECTION {second}")
            with pytest.raises(DatabaseUnavailable):
                await connection_id(database)
            assert await connection_id(database) not in (first, second)  # and the pool recovers at once
        finally:
            await database.dispose()

    asyncio.run(run())


def test_statements_sent_at_once_on_one_read_session_take_turns(database_name: str) -> None:
    """A read session runs one statement at a time on its one connection: twenty sent together each get their own
    answer, and closing it hands back every connection it took."""

    async def run() -> tuple[list[int], int]:
        database = Database(f"{MARIADB}/{database_name}")
        try:
            async with database.read_sessions() as db:
                statements = [select(literal_column(str(i)).label("x"), func.sleep(0.001)) for i in range(20)]
                answers = await asyncio.gather(*(db.execute(s) for s in statements))
            pool = database.read_engine.pool
            return [int(a.first()[0]) for a in answers], pool.checkedout()  # type: ignore[attr-defined,index]
        finally:
            await database.dispose()

    answers, still_out = asyncio.run(run())
    assert answers == list(range(20))
    assert still_out == 0


def test_a_read_beside_takes_an_idle_connection_or_room_in_the_pool_and_never_waits(database_name: str) -> None:
    """``beside`` gives a second connection only when the pool has one idle or is below its size, so a request
    holding one never waits for another (nor opens one past the pool's size)."""

    async def connection_id(db: ReadSession) -> int:
        return int((await db.execute(select(func.connection_id()))).scalar_one())

    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}", pool_size=2)
        pool = database.read_engine.pool
        assert isinstance(pool, QueuePool)
        try:
            async with database.read_sessions() as first:
                second = await beside(first)  # the pool below its size: a new connection
                assert second is not None
                assert await connection_id(second) != await connection_id(first)
                assert await beside(first) is None  # both of the pool's connections in use: none more
                assert pool.checkedout() == 2
                await second.close()
                third = await beside(first)  # the one handed back, idle
                assert third is not None
                await third.close()
            async with database.read_sessions() as on_one, database.read_sessions() as on_two:
                await connection_id(on_one), await connection_id(on_two)
                assert await beside(on_one) is None
                assert pool.checkedout() == 2
        finally:
            await database.dispose()

    asyncio.run(run())


def test_a_read_session_closes_to_the_end_waiting_on_nothing_or_shielded(database_name: str) -> None:
    """A read session whose close waits on nothing (its connection back into a pool with room) closes without
    yielding, so no cancellation can stop it midway; one whose close waits (the pool full, so its connection is
    closed; an ORM session to close) closes in a shielded task that a cancelled caller does not stop."""

    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}", pool_size=1)  # and one more past it
        pool = database.read_engine.pool
        assert isinstance(pool, QueuePool)
        counted = select(func.sum(COUNTER.c.n).label("n"))
        try:
            first, second, third = (database.read_sessions() for _ in range(3))
            await first.execute(counted)
            await second.execute(counted)
            assert pool.checkedout() == 2
            closing = first.close_shielded()
            with pytest.raises(StopIteration):  # done at its first step: nothing to wait on
                closing.send(None)
            assert (pool.checkedout(), pool.checkedin()) == (1, 1)
            task = asyncio.ensure_future(second.close_shielded())  # the pool full: its connection is closed
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await _until(lambda: pool.checkedout() == 0)
            await third.execute(counted, execution_options={})  # through an ORM session
            assert not third._closes_quietly()
            task = asyncio.ensure_future(third.close_shielded())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await _until(lambda: pool.checkedout() == 0)
            assert pool.checkedin() == 1
        finally:
            await database.dispose()

    asyncio.run(run())


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within the time given")


def test_a_session_closed_under_a_running_statement_hands_back_no_connection_mid_result(database_name: str) -> None:
    """A caller that outlives its request (GraphQL's resolvers past its time limit) may still run a statement when
    the route closes the session: the connection is not handed back mid-result (the next session on the pool, of one
    connection, gets its own answer and no error), the late statement fails, and the closed session refuses more."""

    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}", pool_size=1)
        try:
            late = database.read_sessions()
            await late.execute(select(func.sum(COUNTER.c.n).label("n")))  # its connection taken
            slow = asyncio.ensure_future(late.execute(select(func.sleep(0.5).label("slept"))))
            await asyncio.sleep(0.1)  # the statement sent, its answer not yet come
            await late.close_shielded()
            for turn in range(3):
                async with database.read_sessions() as next_one:
                    answer = await next_one.execute(select(literal_column(str(turn)).label("turn")))
                    assert answer.scalar_one() == turn
            with pytest.raises(Exception):  # noqa: B017  # the driver's or SQLAlchemy's error: its connection gone
                await slow
            with pytest.raises(RuntimeError, match="closed read session"):
                await late.execute(select(literal_column("1").label("one")))
            pool = database.read_engine.pool
            assert isinstance(pool, QueuePool)
            assert pool.checkedout() == 0
        finally:
            await database.dispose()

    asyncio.run(run())


def test_a_session_closed_while_its_statement_waits_for_the_pool_refuses_it_and_hands_the_connection_back(
    database_name: str,
) -> None:
    """Closed (by its route) while its first statement still waits for a free connection, a session takes none for
    good: the statement is refused once a connection comes, and that connection goes straight back."""

    async def run() -> None:
        database = Database(f"{MARIADB}/{database_name}", pool_size=1, timeouts=Timeouts(pool=5))  # and one past it
        pool = database.read_engine.pool
        assert isinstance(pool, QueuePool)
        one: Executable = select(literal_column("1").label("one"))
        try:
            holders = [database.read_sessions() for _ in range(2)]
            for holder in holders:
                await holder.execute(one)
            late = database.read_sessions()
            waiting = asyncio.ensure_future(late.execute(one))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            await late.close_shielded()
            for holder in holders:
                await holder.close_shielded()
            with pytest.raises(RuntimeError, match="closed read session"):
                await waiting
            await _until(lambda: pool.checkedout() == 0)
        finally:
            await database.dispose()

    asyncio.run(run())


#: run twice on a session, then straight on the driver (``relational.core_reads``)
_WHOSE = select(func.connection_id().label("id"), literal_column("'whose'").label("what"))


async def _connections_of(sessions: list[ReadOnlySession]) -> list[int]:
    """Each session's connection id, read twice (the second time on the driver: ``relational.core_reads``)."""
    ids = []
    for session in sessions:
        await session.execute(_WHOSE)
        ids.append(int((await session.execute(_WHOSE)).scalar_one()))
    return ids


def _kill(connection_ids: list[int]) -> None:
    """Drop these connections, as a restart or a failover does."""
    with _server() as other:
        for connection_id in connection_ids:
            other.cursor().execute(f"KILL CONNECTION {connection_id}")


def test_every_pooled_connection_lost_at_once_fails_one_read_not_one_per_connection(
    database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart or failover drops every connection of the pool: the read that finds its connection lost is a 503,
    and the next checkouts ping the others (used before the loss, however recently) and replace the dead ones, as
    SQLAlchemy's execution retires its whole pool on a disconnect."""
    monkeypatch.setattr(relational_db, "READ_IDLE_PING", 3600.0)  # recent use alone would spare them the ping

    async def run() -> None:
        size = 4
        database = Database(f"{MARIADB}/{database_name}", pool_size=size)
        try:
            sessions = [database.read_sessions() for _ in range(size)]
            lost = await _connections_of(sessions)
            for session in sessions:
                await session.close_shielded()
            _kill(lost)
            answers: list[object] = []
            for _ in range(size + 1):
                try:
                    async with database.read_sessions() as db:
                        answers.append((await db.execute(_WHOSE)).scalar_one())
                except DatabaseUnavailable:
                    answers.append(503)
            assert answers[0] == 503 and 503 not in answers[1:], answers
            assert not set(answers[1:]) & set(lost)
        finally:
            await database.dispose()

    asyncio.run(run())


def test_a_connection_held_through_a_loss_is_pinged_at_its_next_checkout(
    database_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request holds its connection (waiting on the document store, say) while a restart drops them all, and
    hands it back after another read found its own lost: its next checkout pings it too, so the restart fails
    that one read, not one more per connection held through it."""
    monkeypatch.setattr(relational_db, "READ_IDLE_PING", 3600.0)

    async def read(database: Database) -> object:
        try:
            async with database.read_sessions() as db:
                await db.execute(_WHOSE)
                return (await db.execute(_WHOSE)).scalar_one()
        except DatabaseUnavailable:
            return 503

    async def run() -> list[object]:
        database = Database(f"{MARIADB}/{database_name}", pool_size=2)
        try:
            held, idle = database.read_sessions(), database.read_sessions()
            lost = await _connections_of([held, idle])
            await idle.close_shielded()
            _kill(lost)
            answers = [await read(database)]  # finds the idle one lost
            await held.close_shielded()
            return answers + [await read(database) for _ in range(3)]
        finally:
            await database.dispose()

    answers = asyncio.run(run())
    assert answers[0] == 503 and 503 not in answers[1:], answers
