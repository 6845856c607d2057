"""The read-only session refuses the writes that go around ``add``/``flush``/``commit`` too: a textual (or any other
non-SELECT) statement, and the raw connection under the session, on which anything could be written and committed."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from relational.db import Database
from relational.models import Person


async def _try(url: str, name: str) -> list[str | None]:
    """Try one way around on a read session (it must be refused), then read the logins: unchanged."""
    database = Database(url)
    try:
        await database.start()
        async with database.write_sessions() as db:
            db.add(Person(login="before"))
            await db.commit()
        async with database.read_sessions() as db:
            with pytest.raises(RuntimeError, match=r"read-only session"):
                if name == "text":
                    await db.execute(text("UPDATE Person SET login = 'after'"))
                elif name == "text as columns":
                    await db.execute(text("UPDATE Person SET login = 'after'").columns(Person.login))
                else:
                    session: Any = db  # as a caller who knows sessions hand their connection out would
                    connection = await session.connection()
                    await connection.execute(text("UPDATE Person SET login = 'after'"))
                    await connection.commit()
            assert (await db.scalars(select(Person.login))).all() == ["before"]  # reads still work
        async with database.sessions() as db:
            return list((await db.scalars(select(Person.login))).all())
    finally:
        await database.dispose()


@pytest.mark.parametrize("name", ["text", "text as columns", "connection"])
def test_the_read_session_refuses_ways_around(tmp_path: Path, name: str) -> None:
    assert asyncio.run(_try(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", name)) == ["before"]
