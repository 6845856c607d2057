"""Sessions that only read: what read code may call (``ReadSession``) and the session reads get
(``ReadOnlySession``), which refuses every write."""

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any, NoReturn, Protocol, Self, TypeVar, TypeVarTuple, overload
from weakref import WeakKeyDictionary

from sqlalchemy import CompoundSelect, Engine, Executable, Result, ScalarResult, Select, event, inspect
from sqlalchemy import Connection as SyncConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.orm.util import AliasedInsp
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.selectable import SelectBase, TextualSelect, TypedReturnsRows

from relational import core_reads

_T = TypeVar("_T")
_O = TypeVar("_O")
_Ts = TypeVarTuple("_Ts")


class ReadSession(Protocol):
    """What code that only reads may call: a read-only session and a write session both fit, and a type checker
    refuses ``add``, ``flush``, ``commit`` and the other writes on it."""

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], params: Mapping[str, Any] | None = None
    ) -> Result[*_Ts]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[*tuple[Any, ...]]: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T], params: Mapping[str, Any] | None = None) -> _T | None: ...
    @overload
    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any: ...

    @overload
    async def scalars(
        self, statement: TypedReturnsRows[_T], params: Mapping[str, Any] | None = None
    ) -> ScalarResult[_T]: ...
    @overload
    async def scalars(self, statement: Executable, params: Mapping[str, Any] | None = None) -> ScalarResult[Any]: ...

    async def get(self, entity: type[_O], ident: Any) -> _O | None: ...

    def get_bind(self) -> Engine | SyncConnection: ...


def _refuse(name: str) -> NoReturn:
    raise RuntimeError(f"{name}() on a read-only session: a bug in the caller, which must take a WriteSession")


class _ReadOnlySyncSession(Session):
    """The synchronous session under a read-only session's ORM part: runs SELECTs only."""


@event.listens_for(_ReadOnlySyncSession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    """Refuse INSERT, UPDATE and DELETE (ORM or Core), and any other statement that is no SELECT: a textual one,
    even given result columns (``text(...).columns(...)`` passes for a SELECT and may hold any SQL)."""
    if not state.is_select or isinstance(state.statement, TextualSelect):
        kinds = {"insert": state.is_insert, "update": state.is_update, "delete": state.is_delete}
        _refuse(f"execute({next((k for k, is_it in kinds.items() if is_it), type(state.statement).__name__)})")


class _OrmReads(AsyncSession):
    sync_session_class = _ReadOnlySyncSession


#: per SELECT statement: whether it selects columns only (no mapped entity), each under the name the ORM gives it
#: (Core names a row's value after its database column, the ORM after the mapped attribute), so needs nothing of
#: the ORM's
_COLUMNS_ONLY: WeakKeyDictionary[Select[Any], bool] = WeakKeyDictionary()


def _columns_only(statement: Executable | SelectBase) -> bool:
    if isinstance(statement, CompoundSelect):  # a UNION of SELECTs of columns only
        return all(_columns_only(part) for part in statement.selects)
    if not isinstance(statement, Select):
        return False
    known = _COLUMNS_ONLY.get(statement)
    if known is None:
        described = statement.column_descriptions
        entities = (inspect(d["expr"], raiseerr=False) for d in described)
        same_names = all(getattr(c, "name", key) == key for key, c in statement.selected_columns.items())
        known = same_names and not any(isinstance(e, Mapper | AliasedInsp) for e in entities)
        _COLUMNS_ONLY[statement] = known
    return known


class ReadOnlySession:
    """The session reads get (the request's ``read_session``): every write raises ``RuntimeError``, a programming
    error rather than a client's, so a handler that should not write cannot. A SELECT of columns only runs as Core
    (``relational.core_reads``: on MariaDB, straight on the driver) on a connection taken from the pool at the
    first statement; any other (an entity's SELECT, ``get``) on an ORM
    session over that connection, made at its first need, which refuses all but SELECTs. Most reads never pay for
    an ORM session (a fifth of a one-row request)."""

    def __init__(self, bind: AsyncEngine | AsyncConnection, quiet_return: bool = False) -> None:
        """``quiet_return``: ``bind``'s pool takes a connection back with no round trip (the read pool:
        ``relational.db.create_engine(reads=True)``)."""
        self._bind = bind
        self._quiet_return = quiet_return
        self._connection: AsyncConnection | None = None
        self._orm: _OrmReads | None = None
        self._closed = False
        #: one statement at a time: concurrent callers would take two connections, or mix replies on one
        self._turn = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close_shielded()

    async def close_shielded(self) -> None:
        """Close (``close``), to the end even if the caller is cancelled meanwhile. A close that waits on nothing
        cannot be stopped midway (a coroutine is cancelled only where it waits), so it runs as it is; any other runs
        in a task of its own, shielded (the task costs ~5 % of a one-row read)."""
        if self._closes_quietly():
            await self.close()
        else:
            await asyncio.shield(asyncio.ensure_future(self.close()))

    def _closes_quietly(self) -> bool:
        """Whether closing waits on nothing: no ORM session to close, no statement running (``close`` then
        invalidates the connection), and no connection, or one (not invalidated) going back to a pool that takes it
        with no round trip and has room for it (a full pool closes it)."""
        connection = self._connection
        if self._orm is not None or self._turn.locked():
            return False
        if connection is None or connection is self._bind:
            return True
        pool = connection.sync_engine.pool
        return (
            self._quiet_return
            and not connection.invalidated
            and isinstance(pool, QueuePool)
            and pool.checkedin() < pool.size()
        )

    async def close(self) -> None:
        """Close the ORM session if one was made and hand the connection back to the pool (not one the tests
        bound, which they roll back). A statement still running on it (a caller that outlived the request, such as
        GraphQL's resolvers past its time limit) leaves the connection mid-result: it is invalidated rather than
        handed back, and the session refuses every statement from then on."""
        busy, self._closed = self._turn.locked(), True
        orm, connection, self._orm, self._connection = self._orm, self._connection, None, None
        pooled = None if connection is self._bind else connection
        try:
            if busy and pooled is not None:
                await pooled.invalidate()
            if orm is not None:
                await orm.close()
        finally:
            if pooled is not None:
                await pooled.close()

    async def _connected(self) -> AsyncConnection:
        """The session's connection, taken from the pool at its first need; refused once the session is closed,
        also if it closed while this waited for the pool (the connection then goes straight back)."""
        self._refuse_if_closed()
        if self._connection is None:
            bind = self._bind
            if isinstance(bind, AsyncConnection):
                self._connection = bind
            else:
                connection = await bind.connect()
                if self._closed:
                    await connection.close()
                    self._refuse_if_closed()
                self._connection = connection
        return self._connection

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise RuntimeError("a statement on a closed read session (its caller outlived the request)")

    async def _session(self) -> _OrmReads:
        if self._orm is None:
            connection = await self._connected()
            self._orm = _OrmReads(
                connection, expire_on_commit=False, autoflush=False, join_transaction_mode="rollback_only"
            )
        return self._orm

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Result[Any]:
        async with self._turn:
            if kwargs or not _columns_only(statement):
                return await (await self._session()).execute(statement, params, **kwargs)
            return await core_reads.execute(await self._connected(), statement, params)

    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        return (await self.execute(statement, params, **kwargs)).scalar()

    async def scalars(
        self, statement: Executable, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> ScalarResult[Any]:
        return (await self.execute(statement, params, **kwargs)).scalars()

    async def get(self, entity: type[_O], ident: Any) -> _O | None:
        async with self._turn:
            return await (await self._session()).get(entity, ident)

    def get_bind(self) -> Engine | SyncConnection:
        bind = self._bind
        return bind.sync_engine if isinstance(bind, AsyncEngine) else bind.sync_connection or bind.sync_engine

    def add(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("add")

    def add_all(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("add_all")

    async def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")

    async def merge(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("merge")

    async def flush(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("flush")

    async def commit(self) -> NoReturn:
        _refuse("commit")

    async def connection(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("connection")  # the raw connection would execute and commit anything


async def beside(db: ReadSession) -> ReadOnlySession | None:
    """A read session on a second connection of the read pool, taken now, for a read to run concurrently with
    ``db``'s; None unless ``db`` is a read-only session on the pool and, once ``db`` has its connection, the pool
    holds one idle or fewer than its size (never on the tests' bound connection): a request never waits for a
    second connection, so requests holding one each never wait on each other for more. The caller closes it."""
    if not isinstance(db, ReadOnlySession):
        return None
    engine = db._bind
    if not isinstance(engine, AsyncEngine) or not isinstance(engine.pool, QueuePool):
        return None
    await db._connected()
    if engine.pool.checkedin() == 0 and engine.pool.overflow() >= 0:
        return None
    other = ReadOnlySession(engine, db._quiet_return)
    await other._connected()  # taken before any other task runs: the idle connection or room counted is this one
    return other
