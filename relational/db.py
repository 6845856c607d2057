"""Engine and session factories for the facility's MariaDB or the embedded SQLite file."""

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.errors import InvalidInput
from relational.flavour import SchemaInfo, detect
from relational.models import Base


def create_engine(url: str, pool_size: int = 10, pool_recycle: int = 3600) -> AsyncEngine:
    """An async engine; MariaDB keeps its default isolation, pings and recycles pooled connections."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys)
        return engine
    engine = create_async_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=pool_recycle,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"charset": "utf8mb4"},
    )
    event.listen(engine.sync_engine, "handle_error", _client_value_error)
    return engine


#: MariaDB errors that only a client's value causes, with what to tell the client
_CLIENT_VALUE_ERRORS = {
    1267: "a text has characters outside this database's character set, so nothing can match it",
    1271: "a text has characters outside this database's character set, so nothing can match it",
    1366: "a text has characters this database cannot store (its columns are latin1)",
    1406: "a value is longer than the database column allows",
    1264: "a number is outside the database column's range",
}


def _client_value_error(context: ExceptionContext) -> None:
    """Turn a MariaDB refusal caused by the client's value (collation mix, unstorable text, too long, out of
    range) into a 422 instead of an unexpected error."""
    args = getattr(context.original_exception, "args", ())
    if args and args[0] in _CLIENT_VALUE_ERRORS:
        raise InvalidInput(f"Refused by the database: {_CLIENT_VALUE_ERRORS[args[0]]}") from context.original_exception


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class WriteSession(AsyncSession):
    """A session that may write: data access flushes, the request dependency commits or rolls back."""


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def create_embedded_schema(engine: AsyncEngine) -> None:
    """Create the mapped tables in the embedded SQLite file. Refuses any other database: the service
    never issues DDL against a facility's MariaDB."""
    if engine.dialect.name != "sqlite":
        raise RuntimeError("refusing to create tables outside the embedded SQLite database")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


class Database:
    """The relational store of one service process: engine, session factory and the detected schema."""

    def __init__(self, url: str, pool_size: int = 10, pool_recycle: int = 3600) -> None:
        self.engine = create_engine(url, pool_size, pool_recycle)
        self.sessions = sessionmaker(self.engine)
        self.write_sessions = async_sessionmaker(self.engine, class_=WriteSession, expire_on_commit=False)
        self.schema: SchemaInfo | None = None

    async def start(self) -> SchemaInfo:
        """Create the embedded schema if this is SQLite, then detect what the database holds."""
        if self.engine.dialect.name == "sqlite":
            await create_embedded_schema(self.engine)
        async with self.engine.connect() as conn:
            self.schema = await conn.run_sync(detect)
        return self.schema

    async def health(self) -> dict[str, object]:
        """``{"state": "ok"|"unavailable", ...}`` after a trivial round trip."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return {"state": "unavailable", "error": type(exc).__name__}
        return {"state": "ok", "dialect": self.engine.dialect.name}

    async def dispose(self) -> None:
        await self.engine.dispose()


#: the session type GET handlers receive (the request dependency never commits it)
ReadSession = AsyncSession
