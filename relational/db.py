"""Engine and session factories for the facility's MariaDB or the embedded SQLite file."""

from collections.abc import Callable
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any, TypeVar, TypeVarTuple, cast

from sqlalchemy import event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from relational.connection import Timeouts, open_connection
from relational.flavour import SchemaInfo, detect
from relational.models import Base
from relational.read_sessions import ReadOnlySession
from relational.refusals import DatabaseUnavailable, on_error

_T = TypeVar("_T")
_O = TypeVar("_O")
_Ts = TypeVarTuple("_Ts")


class _Pool(AsyncAdaptedQueuePool):
    """The MariaDB pool: waiting longer than ``pool_timeout`` for a free connection answers 503."""

    def _do_get(self) -> ConnectionPoolEntry:
        try:
            return super()._do_get()
        except PoolTimeout:
            raise DatabaseUnavailable("Every database connection is busy; try again shortly") from None


#: seconds a pooled read connection may sit unused before its next checkout pings it
READ_IDLE_PING = 2.0


def create_engine(
    url: str, pool_size: int = 10, pool_recycle: int = 3600, timeouts: Timeouts = Timeouts(), reads: bool = False
) -> AsyncEngine:
    """An async engine; every wait on MariaDB is bounded by ``timeouts`` and pooled connections are recycled.
    Writes keep MariaDB's default isolation and ping each connection at checkout. ``reads``: connections in
    autocommit (each SELECT reads the latest committed rows, so nothing is rolled back when a connection goes back
    to the pool) that are pinged only after ``READ_IDLE_PING`` seconds unused or a loss in the pool (``_Freshness``):
    a busy worker's read is its queries' round trips and no more."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys)
        event.listen(engine.sync_engine, "handle_error", on_error)
        return engine

    def connect() -> Any:
        _args, params = engine.dialect.create_connect_args(engine.url)
        return open_connection(timeouts, {"charset": "utf8mb4", **params})

    engine = create_async_engine(
        url,
        async_creator=connect,
        poolclass=_Pool,
        pool_pre_ping=not reads,
        pool_recycle=pool_recycle,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeouts.pool,
        **({"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if reads else {}),
    )
    if reads:
        freshness = _Freshness(engine.dialect)
        event.listen(engine.sync_engine, "checkin", freshness.note_use)
        event.listen(engine.sync_engine, "invalidate", freshness.note_loss)
        event.listen(engine.sync_engine, "checkout", freshness.ping_if_stale)
    event.listen(engine.sync_engine, "handle_error", on_error)
    return engine


class _Freshness:
    """Which of a read pool's connections a checkout pings first: one unused for ``READ_IDLE_PING`` seconds, and
    one last used before a connection of the pool was found lost (a restart or a failover drops them all at once:
    SQLAlchemy's execution then retires the whole pool, a read on the driver (``relational.core_reads``) only its
    own connection). A dead one is replaced by the pool, so a loss fails one request, not one per connection."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._lost_at = 0.0

    def note_use(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        """Checked in: used now, unless a loss was noted while it was out (a restart while its request waited on
        something else): then it counts as last used when it was checked out, so the next checkout pings it."""
        now, out = monotonic(), record.info.get("out", 0.0)
        record.info["used"] = now if out > self._lost_at else out

    def note_loss(self, dbapi_connection: Any, _record: ConnectionPoolEntry, exception: BaseException | None) -> None:
        """A connection invalidated because it was lost (not because its caller stopped midway)."""
        lost = isinstance(exception, Exception) and self._dialect.is_disconnect(
            cast(Any, exception), dbapi_connection, None
        )
        if lost or isinstance(exception, DisconnectionError):
            self._lost_at = monotonic()

    def ping_if_stale(self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        now, used = monotonic(), record.info.get("used", 0.0)
        if used <= self._lost_at or now - used >= READ_IDLE_PING:
            try:
                dbapi_connection.ping(False)
            except Exception as exc:  # the driver's error for a connection the server dropped
                raise DisconnectionError(f"a pooled read connection did not answer its ping: {exc}") from exc
        record.info["out"] = now


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class WriteSession(AsyncSession):
    """A session that may write: data access flushes, the request dependency commits or rolls back."""


async def create_embedded_schema(engine: AsyncEngine) -> None:
    """Create the mapped tables in the embedded SQLite file. Refuses any other database: the service
    never issues DDL against a facility's MariaDB."""
    if engine.dialect.name != "sqlite":
        raise RuntimeError("refusing to create tables outside the embedded SQLite database")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


class Database:
    """The relational store of one service process: engine, session factory and the detected schema."""

    def __init__(
        self, url: str, pool_size: int = 10, pool_recycle: int = 3600, timeouts: Timeouts = Timeouts()
    ) -> None:
        self.engine = create_engine(url, pool_size, pool_recycle, timeouts)
        #: the read sessions' pool (``create_engine(reads=True)``); SQLite's single file has the one engine
        self.read_engine = self.engine
        if self.engine.dialect.name != "sqlite":
            self.read_engine = create_engine(url, pool_size, pool_recycle, timeouts, reads=True)
        self.bind(None)
        self.schema: SchemaInfo | None = None

    def bind(self, connection: AsyncConnection | None) -> None:
        """Hand out sessions on ``connection``, or with None on the pool (the service). The tests' hook: their
        connection holds an outer transaction they roll back at the end; read sessions join it, a write session's
        commit releases a savepoint of it (so a read session closing after a write in the same request undoes
        nothing)."""
        bind = self.engine if connection is None else connection
        read_bind = self.read_engine if connection is None else connection
        self.sessions = async_sessionmaker(
            bind, expire_on_commit=False, autoflush=False, join_transaction_mode="rollback_only"
        )
        self.write_sessions = async_sessionmaker(
            bind, class_=WriteSession, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        #: ``async with database.read_sessions() as db``
        quiet = read_bind is not self.engine  # the read pool's (SQLite's one engine rolls back on return)
        self.read_sessions: Callable[[], ReadOnlySession] = partial(ReadOnlySession, read_bind, quiet)

    async def start(self) -> SchemaInfo:
        """Create the embedded schema if this is SQLite, then detect what the database holds."""
        if self.engine.dialect.name == "sqlite":
            await create_embedded_schema(self.engine)
        try:
            async with self.engine.connect() as conn:
                self.schema = await conn.run_sync(detect)
        except DatabaseUnavailable as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            raise DatabaseUnavailable(f"The database {where} does not answer ({exc.__cause__})") from exc
        return self.schema

    async def health(self) -> dict[str, object]:
        """``{"state": "ok"|"unavailable", ...}`` after a trivial round trip."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, DatabaseUnavailable) as exc:
            return {"state": "unavailable", "error": type(exc).__name__}
        return {"state": "ok", "dialect": self.engine.dialect.name}

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
