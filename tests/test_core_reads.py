"""Column SELECTs run straight on MariaDB's driver (``relational.core_reads``): the same rows, keys and Python
types as SQLAlchemy's execution gives, SQLAlchemy's way wherever it must shape the statement or something watches
its statements, and the same errors, with a connection left half read never handed out again."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pymysql
import pytest
from sqlalchemy import Executable, bindparam, event, func, literal, literal_column, select, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from relational import core_reads
from relational.db import Database
from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcScalingStatistics,
    BLSample,
    BLSession,
    DataCollection,
    Proposal,
    Shipping,
)
from relational.proposals import _proposals, _with_counts
from relational.refusals import DatabaseUnavailable
from relational.scope import Scope
from schemas.errors import InvalidInput
from tests.conftest import Flavour


def _on(url: str, work: Callable[[Database], Awaitable[None]], pool_size: int = 2) -> None:
    async def run() -> None:
        database = Database(url, pool_size=pool_size)
        try:
            await work(database)
        finally:
            await database.dispose()

    asyncio.run(run())


def _typed(result: Any) -> tuple[list[str], list[list[tuple[str, Any]]]]:
    return list(result.keys()), [[(type(v).__name__, v) for v in row] for row in result]


def _state(connection: AsyncConnection, statement: Executable) -> Any:
    return core_reads._KEPT[connection.dialect].get(statement)


def _statements(flavour: Flavour) -> list[tuple[Executable, dict[str, Any]]]:
    """Every column type with a processor (Boolean, Double, LenientDateTime, ProcessingStatus), NULLs, labels, a
    page with its window count below a join and a group, a UNION, and bound values of several kinds."""
    tables = (BLSession, DataCollection, AutoProcProgram, AutoProcIntegration, AutoProcScalingStatistics, BLSample)
    statements: list[tuple[Executable, dict[str, Any]]] = [
        (select(*model.__table__.columns).limit(bindparam("n")), {"n": 60}) for model in tables
    ]
    succeeded = select(AutoProcProgram.autoProcProgramId, AutoProcProgram.processingStatus)
    statements.append((succeeded.where(AutoProcProgram.processingStatus == bindparam("status")), {"status": True}))
    proposals = select(*Proposal.__table__.columns).where(Proposal.proposalId > bindparam("above"))
    statements.append((proposals, {"above": 0}))
    staff, member = Scope(flavour.data.persons["staff"], all_proposals=True), Scope(flavour.data.persons["sci_a"])
    for scope in (staff, member):
        statements.append((_with_counts(_proposals(scope, frozenset()), False), {"_skip": 0, "_limit": 25}))
    kinds = union_all(
        select(BLSession.sessionId.label("id"), literal("session").label("kind"), BLSession.scheduled.label("flag")),
        select(BLSample.blSampleId.label("id"), literal("sample").label("kind"), BLSample.isInSampleChanger),
    )
    statements.append((kinds, {}))
    text: Any = func.coalesce(None, bindparam("text")).label("text")
    values: Executable = select(literal_column("1.5e300").label("big"), text)
    statements.append((values, {"text": "é€"}))
    return statements


def test_every_statement_answers_as_sqlalchemy_s_execution_does(flavour: Flavour) -> None:
    statements = _statements(flavour)

    kinds: set[str] = set()

    async def work(database: Database) -> None:
        async with database.read_engine.connect() as connection:
            for statement, params in statements:
                expected = _typed(await connection.execute(statement, params))
                first = _typed(await core_reads.execute(connection, statement, params))
                assert _state(connection, statement) is core_reads._ONCE  # SQLAlchemy ran it the first time
                second = _typed(await core_reads.execute(connection, statement, params))
                assert isinstance(_state(connection, statement), core_reads._Prepared), statement
                assert first == expected and second == expected, statement
                assert expected[1], f"no rows to compare: {statement}"
                kinds.update(kind for row in expected[1] for kind, _ in row)
        assert {"bool", "float", "datetime", "NoneType", "str", "int"} <= kinds, kinds

    _on(flavour.url, work)


def test_in_lists_expand_as_sqlalchemy_expands_them_and_sqlalchemy_runs_the_rest(flavour: Flavour) -> None:
    """An ``IN`` of a list of any length (none, one, several; a value bound through a processor) answers as through
    SQLAlchemy; a statement with execution options stays SQLAlchemy's; a statement listener (the tests' statement
    counts, a tracer) sees every statement, prepared or not, while it listens."""
    sessions = sorted(flavour.data.sessions.values())
    listed = select(BLSession.sessionId, BLSession.scheduled).where(
        BLSession.sessionId.in_(bindparam("ids", expanding=True)),
        BLSession.scheduled.in_(bindparam("flags", expanding=True)) | BLSession.scheduled.is_(None),
    )
    optioned = select(BLSession.sessionId).execution_options(note="any option")
    plain = select(BLSession.sessionId).where(BLSession.sessionId == bindparam("id"))
    lists = [[], [sessions[0]], [*sessions, -1], sessions * 3]
    statuses = select(AutoProcProgram.autoProcProgramId).where(
        AutoProcProgram.processingStatus.in_(bindparam("statuses", expanding=True))
    )

    async def work(database: Database) -> None:
        async with database.read_engine.connect() as connection:
            for ids in lists * 2:
                for flags in ([], [True], [True, False]):
                    values = {"ids": ids, "flags": flags}
                    expected = _typed(await connection.execute(listed, values))
                    assert _typed(await core_reads.execute(connection, listed, values)) == expected, values
            assert isinstance(_state(connection, listed), core_reads._Prepared)
            for chosen in [[True], [1, 0], []] * 2:
                expected = _typed(await connection.execute(statuses, {"statuses": chosen}))
                assert _typed(await core_reads.execute(connection, statuses, {"statuses": chosen})) == expected
            assert isinstance(_state(connection, statuses), core_reads._Prepared)
            assert _typed(await connection.execute(statuses, {"statuses": [True]}))[1]
            assert _typed(await connection.execute(listed, {"ids": sessions, "flags": [True, False]}))[1]
            for _ in range(3):
                assert (await core_reads.execute(connection, optioned, {})).scalars().all()
                assert (await core_reads.execute(connection, plain, {"id": sessions[0]})).scalar_one() == sessions[0]
            assert _state(connection, optioned) is None
            assert isinstance(_state(connection, plain), core_reads._Prepared)
            seen: list[str] = []

            def note(*args: Any) -> None:
                seen.append(args[2])

            event.listen(database.read_engine.sync_engine, "before_cursor_execute", note)
            try:
                assert (await core_reads.execute(connection, plain, {"id": sessions[0]})).scalar_one() == sessions[0]
            finally:
                event.remove(database.read_engine.sync_engine, "before_cursor_execute", note)
            assert len(seen) == 1 and "BLSession" in seen[0]
            assert (await core_reads.execute(connection, plain, {"id": sessions[0]})).scalar_one() == sessions[0]
            assert len(seen) == 1

    _on(flavour.url, work)


async def _prepared_twice(connection: AsyncConnection, statement: Executable, params: dict[str, Any]) -> None:
    for _ in range(2):
        (await core_reads.execute(connection, statement, params)).all()
    assert isinstance(_state(connection, statement), core_reads._Prepared)


def test_the_driver_s_errors_are_answered_as_sqlalchemy_s_execution_answers_them(flavour: Flavour) -> None:
    """A value the database refuses is a 422; an error of the service is SQLAlchemy's error of the same class;
    either way the connection stays good. A connection the server dropped is a 503 and is invalidated, and the
    pool opens a new one."""
    named = select(Shipping.shippingId).where(Shipping.shippingName == bindparam("name"))  # a latin1 column
    missing: Any = literal_column("no_such_column").label("x")
    wrong: Executable = select(missing, BLSession.sessionId).where(BLSession.sessionId == -1)
    whose = select(func.connection_id().label("id"), literal(1).label("one"))

    async def work(database: Database) -> None:
        async with database.read_engine.connect() as connection:
            await _prepared_twice(connection, named, {"name": "x"})
            with pytest.raises(InvalidInput, match="character set"):
                await core_reads.execute(connection, named, {"name": "\U0001f600" * 3})
            with pytest.raises(DBAPIError) as through_sqlalchemy:
                await connection.execute(wrong)
            for _ in range(2):
                with pytest.raises(DBAPIError) as direct:
                    await core_reads.execute(connection, wrong, {})
                assert type(direct.value) is type(through_sqlalchemy.value)
                assert direct.value.orig.args == through_sqlalchemy.value.orig.args  # type: ignore[union-attr]
            await _prepared_twice(connection, whose, {})
            first = (await core_reads.execute(connection, whose, {})).one()[0]
            assert not connection.invalidated
            with pymysql.connect(host="127.0.0.1", user="root") as other:
                other.cursor().execute(f"KILL CONNECTION {first}")
            with pytest.raises(DatabaseUnavailable):
                await core_reads.execute(connection, whose, {})
            assert connection.invalidated
        async with database.read_engine.connect() as connection:
            assert (await core_reads.execute(connection, whose, {})).one()[0] != first

    _on(flavour.url, work, pool_size=1)


def test_a_value_the_driver_cannot_take_raises_before_anything_is_sent_and_the_connection_stays_good(
    flavour: Flavour,
) -> None:
    """A value the driver cannot write as SQL (a dict) raises what SQLAlchemy's execution raises, before the
    statement is sent: the connection, with nothing unread on it, is not invalidated."""
    echo: Executable = select(bindparam("v").label("v"), literal(1).label("one"))

    async def work(database: Database) -> None:
        async with database.read_engine.connect() as connection:
            with pytest.raises(TypeError) as through_sqlalchemy:
                await connection.execute(echo, {"v": {"a": 1}})
            await _prepared_twice(connection, echo, {"v": 1})
            with pytest.raises(TypeError) as direct:
                await core_reads.execute(connection, echo, {"v": {"a": 1}})
            assert str(direct.value) == str(through_sqlalchemy.value)
            assert not connection.invalidated
            assert (await core_reads.execute(connection, echo, {"v": 2})).one() == (2, 1)

    _on(flavour.url, work, pool_size=1)


def test_a_read_cancelled_midway_leaves_no_half_read_connection_in_the_pool(flavour: Flavour) -> None:
    """A prepared statement cancelled while MariaDB still works on it: its connection is invalidated, so the next
    read on the pool (of one connection) gets its own answer, not the rest of the cancelled one's."""
    slow = select(func.sleep(bindparam("seconds")).label("slept"), literal("slow").label("which"))
    quick = select(literal("quick").label("which"), literal(2).label("n"))

    async def work(database: Database) -> None:
        async with database.read_engine.connect() as connection:
            await _prepared_twice(connection, slow, {"seconds": 0})
            await _prepared_twice(connection, quick, {})
            read = asyncio.ensure_future(core_reads.execute(connection, slow, {"seconds": 2}))
            await asyncio.sleep(0.3)
            read.cancel()
            with pytest.raises(asyncio.CancelledError):
                await read
            assert connection.invalidated
        async with database.read_engine.connect() as connection:
            for _ in range(3):
                assert (await core_reads.execute(connection, quick, {})).one() == ("quick", 2)

    _on(flavour.url, work, pool_size=1)
