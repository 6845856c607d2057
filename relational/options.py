"""py-ispyb's options, kept where it kept them: ``AdminVar`` rows of a name and a JSON value."""

import json
from typing import Any

from sqlalchemy import select, update

from relational.db import WriteSession
from relational.models.admin import AdminVar
from relational.read_sessions import ReadSession
from schemas.errors import InvalidInput

#: ``AdminVar.value`` is a varchar(1024)
MAX_VALUE = 1024


async def stored(db: ReadSession, *names: str) -> dict[str, Any]:
    """The stored value of each of ``names`` that has a row: its JSON, or its text where it is not JSON (py-ispyb's
    reading). Where a name has several rows (the schema does not forbid it), the newest row wins."""
    query = select(AdminVar.name, AdminVar.value).where(AdminVar.name.in_(names)).order_by(AdminVar.varId)
    found: dict[str, Any] = {}
    for name, value in await db.execute(query):
        assert name is not None  # the query asks for names
        try:
            found[name] = json.loads(value) if value is not None else None
        except json.JSONDecodeError:
            found[name] = value
    return found


async def store(db: WriteSession, name: str, value: Any) -> None:
    """Set ``name`` to ``value`` (as JSON, ASCII, as py-ispyb wrote it): every row of that name, or a new row."""
    text = json.dumps(value)
    if len(text) > MAX_VALUE:
        raise InvalidInput(f"`{name}` is too long: {len(text)} characters stored as JSON, at most {MAX_VALUE}")
    changed = await db.execute(
        update(AdminVar).where(AdminVar.name == name).values(value=text).execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        db.add(AdminVar(name=name, value=text))
    await db.flush()
