"""A read session's column SELECTs run straight on MariaDB's driver connection.

SQLAlchemy's execution of a statement it has compiled before (its execution context, the greenlet that runs the
driver's coroutines, the adapted cursor, the result's metadata) costs ~0.2 ms of CPU a statement here, as much as
the driver's work for a small result. A statement executed a second time (one built once per shape,
``relational.statements``) is compiled once per dialect and then runs as its SQL on the driver's cursor: its values
bound by the bind processors SQLAlchemy would apply, its rows by the result processors, under the keys SQLAlchemy
gives them. The driver's errors become what SQLAlchemy's execution raises: the engine's refusals
(``relational.refusals``), else SQLAlchemy's wrapping of the error; a lost connection, or a read interrupted
(cancelled) midway, invalidates the connection as SQLAlchemy does, so the pool never hands out one with half a
result unread.

A statement whose SQL is final only with its values (an ``IN`` of a list) is expanded per execution as SQLAlchemy
does (``construct_expanded_state``). SQLAlchemy keeps running a statement with execution options, any statement
its first time (one built per request would otherwise be compiled per request, where SQLAlchemy's own cache finds
it), SQLite, and every statement while anything listens to the engine's statement events (the tests that count
statements, a tracer) or echoes them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from weakref import WeakKeyDictionary

from pymysql.err import Error as DriverError
from sqlalchemy import CompoundSelect, Executable, Result, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import WARN_LINTING, SQLCompiler

from relational.connection import TimedConnection
from relational.refusals import refusal

Processor = Callable[[Any], Any]


@dataclass
class _Prepared:
    """A statement compiled for one dialect, with what binding its values and typing its rows take."""

    compiled: SQLCompiler
    sql: str
    positions: tuple[str, ...]
    binds: dict[str, Processor]
    metadata: SimpleResultMetaData
    #: whether its SQL is final only with the values (an ``IN`` of a list: a placeholder per value)
    expanding: bool
    #: the result processors by column, known from the first result (they may depend on the driver's types); None
    #: for the columns that have none, or for all if no column has one
    processors: tuple[Processor | None, ...] | None = field(default=None)
    known: bool = False


#: a statement's state in ``_KEPT``: not seen yet, executed once
_NEW, _ONCE = object(), object()
#: per dialect, per statement: its prepared form, ``_ONCE`` after its first execution, or None if SQLAlchemy runs it
_KEPT: WeakKeyDictionary[Dialect, WeakKeyDictionary[Executable, _Prepared | object | None]] = WeakKeyDictionary()


async def execute(connection: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None) -> Result[Any]:
    """``connection.execute(statement, params)``, straight on the driver when ``statement`` allows it."""
    prepared = _prepared(connection, statement)
    if prepared is None:
        return await connection.execute(statement, params)
    compiled = prepared.compiled
    sql: str
    binds: Mapping[str, Processor]
    if prepared.expanding:
        expanded = compiled.construct_expanded_state(params, escape_names=False)
        sql, values, binds, positions = (
            expanded.statement,
            expanded.parameters,
            expanded.processors,
            expanded.positiontup,
        )
        assert positions is not None  # positional, as ``_prepare`` saw
    else:
        sql, values, binds, positions = (
            prepared.sql,
            compiled.construct_params(params, escape_names=False),
            prepared.binds,
            prepared.positions,
        )
    args = tuple(binds[k](values[k]) if k in binds else values[k] for k in positions)
    sync = connection.sync_connection
    assert sync is not None  # an open connection (``_prepared`` saw its driver)
    driver = cast(TimedConnection, sync.connection.driver_connection)
    sent = False
    try:
        async with driver.cursor() as cursor:
            query = cursor.mogrify(sql, args)  # a value the driver cannot take raises here, before anything is sent
            sent = True
            await cursor.execute(query)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            description = cursor.description
    except DriverError as exc:
        disconnected = connection.dialect.is_disconnect(cast(Any, exc), driver, None)
        if disconnected:
            sync.invalidate(exc)
        answer = refusal(exc, disconnected)
        if answer is not None:
            raise answer from exc
        raise DBAPIError.instance(
            sql, args, exc, DriverError, connection_invalidated=disconnected, dialect=connection.dialect
        ) from exc
    except BaseException as exc:  # cancelled, or the transport failed, midway: what is left unread is unknown
        if sent:
            sync.invalidate(exc)
        raise
    if not prepared.known:
        processors = _processors(prepared.compiled, connection.dialect, description)
        if processors is None:  # not the rows SQLAlchemy expects: it reads them again, its own way, from now on
            _KEPT[connection.dialect][statement] = None
            return await connection.execute(statement, params)
        prepared.processors, prepared.known = processors if any(processors) else None, True
    processors = prepared.processors
    if processors is not None:
        rows = [tuple(p(v) if p else v for p, v in zip(processors, row, strict=True)) for row in rows]
    return IteratorResult(prepared.metadata, iter(rows))


def _prepared(connection: AsyncConnection, statement: Executable) -> _Prepared | None:
    """The statement's prepared form for the connection's dialect, or None if SQLAlchemy must run it."""
    sync = connection.sync_connection
    if (
        sync is None
        or connection.invalidated
        or connection.dialect.name != "mysql"
        or connection.sync_engine.echo
        or sync.dispatch.before_cursor_execute
        or sync.dispatch.after_cursor_execute
    ):
        return None
    kept = _KEPT.get(connection.dialect)
    if kept is None:
        kept = _KEPT[connection.dialect] = WeakKeyDictionary()
    known = kept.get(statement, _NEW)
    if known is _NEW:  # its first execution
        kept[statement] = _ONCE
        return None
    if known is _ONCE:
        driven = isinstance(sync.connection.driver_connection, TimedConnection)
        known = kept[statement] = _prepare(statement, connection.dialect) if driven else None
    assert known is None or isinstance(known, _Prepared)
    return known


def _prepare(statement: Executable, dialect: Dialect) -> _Prepared | None:
    """Compile ``statement`` as SQLAlchemy's execution does; None if it carries execution options or its rows
    would carry a key twice."""
    if not isinstance(statement, Select | CompoundSelect) or statement.get_execution_options():
        return None
    compiled = statement.compile(dialect=dialect, linting=dialect.compiler_linting | WARN_LINTING)
    if not isinstance(compiled, SQLCompiler) or not compiled.positional or compiled.positiontup is None:
        return None
    if compiled.schema_translate_map:
        return None
    keys = [column.keyname for column in compiled._result_columns]
    if len(set(keys)) != len(keys):
        return None
    binds: dict[str, Processor] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    expanding = bool(compiled.literal_execute_params or compiled.post_compile_params)
    metadata = SimpleResultMetaData(keys)
    return _Prepared(compiled, compiled.string, tuple(compiled.positiontup), binds, metadata, expanding)


def _processors(
    compiled: SQLCompiler, dialect: Dialect, description: tuple[tuple[Any, ...], ...] | None
) -> tuple[Processor | None, ...] | None:
    """Each result column's processor, as SQLAlchemy picks it from the column's type and the driver's type code;
    None if the driver described other columns than those compiled."""
    columns = compiled._result_columns
    if description is None or len(description) != len(columns):
        return None
    return tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        for column, described in zip(columns, description, strict=True)
    )
