"""Engine and session factories for the facility's MariaDB or the embedded SQLite file."""

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=pool_recycle,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"charset": "utf8mb4"},
    )


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
