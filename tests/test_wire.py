"""The MariaDB connection's own reading of results (relational/connection.py) gives what aiomysql's gives: every
type, NULLs, values of 1-, 2-, 3- and 8-byte lengths, results larger than one read, shapes that change on one
connection, and errors raised in the middle of a result."""

import asyncio
from datetime import datetime
from typing import Any

import aiomysql
import pymysql
import pytest
from sqlalchemy import make_url

from relational.connection import DESCRIPTIONS_KEPT, TimedConnection, Timeouts, open_connection
from tests.conftest import MARIADB

#: one row of every kind of value the schemas hold, with lengths on each side of the length-coding limits
EVERY_TYPE = """SELECT 1, -9223372036854775808, 18446744073709551615, NULL, 1.5e300, CAST(-1.25 AS FLOAT),
    CAST(12345678901234.5678 AS DECIMAL(20,4)), CAST('2026-12-03 10:11:12.123456' AS DATETIME(6)),
    CAST('2026-12-03' AS DATE), CAST('-838:59:59' AS TIME), CAST('0000-00-00 00:00:00' AS DATETIME), 2026,
    CAST('2026-12-03 10:11:12.5' AS DATETIME(3)), CAST('0999-01-02 03:04:05' AS DATETIME), CAST('0000-00-00' AS DATE),
    CAST('0000-01-01' AS DATE),
    'é ü ∑ 😀', REPEAT('a', 250), REPEAT('b', 251), REPEAT('c', 65535), REPEAT('d', 65536), REPEAT('e', 70000),
    _binary 'raw\\0bytes', UNHEX('FF00FE'), JSON_OBJECT('k', JSON_ARRAY(1, 'two', NULL)), b'101', ''"""
#: rows enough that the result spans many reads from the socket, with NULLs among them
MANY_ROWS = """SET STATEMENT max_recursive_iterations = 10000 FOR WITH RECURSIVE n(i)
    AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
    SELECT i, IF(i % 7 = 0, NULL, CONCAT('row ', i, REPEAT('x', i % 300))), i * 1.5 FROM n"""

#: a statement whose first rows are sent before the server fails it (a subquery of two rows at row 1,000)
FAILING_PART_WAY = """SET STATEMENT max_recursive_iterations = 10000 FOR WITH RECURSIVE n(i)
    AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    SELECT IF(i < 1000, i, (SELECT 1 UNION SELECT 2)) FROM n"""


def _params() -> dict[str, Any]:
    url = make_url(MARIADB)
    return {"host": url.host, "port": url.port or 3306, "user": url.username, "charset": "utf8mb4"}


async def _rows(connection: Any, sql: str) -> tuple[Any, tuple[tuple[Any, ...], ...]]:
    async with connection.cursor() as cursor:
        await cursor.execute(sql)
        return cursor.description, await cursor.fetchall()


async def _both(*statements: str) -> list[tuple[Any, Any]]:
    """Each statement's (description, rows) from aiomysql's own connection and from ours, side by side."""
    stock = await aiomysql.connect(**_params())
    ours = await open_connection(Timeouts(5, 30), _params())
    try:
        return [(await _rows(stock, sql), await _rows(ours, sql)) for sql in statements]
    finally:
        stock.close()
        ours.close()


def test_every_type_reads_as_aiomysql_reads_it() -> None:
    for stock, ours in asyncio.run(_both(EVERY_TYPE, EVERY_TYPE)):
        assert ours == stock
        description, rows = ours
        assert len(rows) == 1 and len(rows[0]) == len(description) == 27
        assert rows[0][3] is None and rows[0][21] == "e" * 70000 and rows[0][17] == "a" * 250
        assert rows[0][12] == datetime(2026, 12, 3, 10, 11, 12, 500000) and rows[0][14] == "0000-00-00"


def test_a_large_result_spanning_many_reads_is_whole() -> None:
    [(stock, ours)] = asyncio.run(_both(MANY_ROWS))
    assert ours == stock
    assert len(ours[1]) == 3000 and ours[1][6][1] is None and ours[1][2999][0] == 3000


def test_shapes_alternating_on_one_connection_keep_their_own_columns() -> None:
    shapes = ["SELECT 1 AS a, 'x' AS b", "SELECT 'x' AS a, 1 AS b", "SELECT CAST(NULL AS DATE) AS a", "SELECT 1 AS a"]
    pairs = asyncio.run(_both(*shapes, *shapes))
    for stock, ours in pairs:
        assert ours == stock
    assert [rows for (_, (_, rows)) in pairs[:4]] == [((1, "x"),), (("x", 1),), ((None,),), ((1,),)]


def test_the_kept_column_definitions_are_bounded() -> None:
    async def run() -> tuple[int, list[Any]]:
        connection = await open_connection(Timeouts(5, 30), _params())
        try:
            seen = [await _rows(connection, f"SELECT {i} AS c{i}") for i in range(DESCRIPTIONS_KEPT + 20)]
            assert isinstance(connection, TimedConnection)
            return len(connection.descriptions), seen
        finally:
            connection.close()

    kept, seen = asyncio.run(run())
    assert 0 < kept <= DESCRIPTIONS_KEPT
    assert [rows for _, rows in seen] == [((i,),) for i in range(DESCRIPTIONS_KEPT + 20)]
    assert seen[-1][0][0][0] == f"c{DESCRIPTIONS_KEPT + 19}"


def test_an_error_in_the_middle_of_a_result_is_raised_and_the_connection_goes_on() -> None:
    async def run() -> tuple[int, Any]:
        connection = await open_connection(Timeouts(5, 30), _params())
        try:
            with pytest.raises(pymysql.err.OperationalError) as failed:
                # the rows of the first SELECT arrive, then the server fails the statement part-way
                await _rows(connection, FAILING_PART_WAY)
            return failed.value.args[0], await _rows(connection, "SELECT 'still here'")
        finally:
            connection.close()

    code, (_, rows) = asyncio.run(run())
    assert code == 1242  # ER_SUBQUERY_NO_1_ROW
    assert rows == (("still here",),)


def test_columns_read_packet_by_packet_are_known_by_the_same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Column definitions not all received at once are read one packet at a time; parsed, they are kept under
    the same key as when they arrive whole, so the next result of that shape finds them."""
    whole = TimedConnection.buffered_span

    def one_at_a_time(self: TimedConnection, count: int) -> bytes | None:
        return whole(self, count) if count == 1 else None

    async def run() -> list[Any]:
        connection = await open_connection(Timeouts(5, 30), _params())
        try:
            with monkeypatch.context() as patched:
                patched.setattr(TimedConnection, "buffered_span", one_at_a_time)
                seen: list[Any] = [await _rows(connection, EVERY_TYPE)]
            seen.append(await _rows(connection, EVERY_TYPE))
            assert isinstance(connection, TimedConnection)
            seen.append(len(connection.descriptions))
            return seen
        finally:
            connection.close()

    [(stock, _)] = asyncio.run(_both(EVERY_TYPE))
    piecewise, whole_read, kept = asyncio.run(run())
    assert piecewise == whole_read == stock
    assert kept == 1
