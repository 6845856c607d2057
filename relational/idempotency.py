"""What an idempotent write created, and whether it is there: the rows a unit of work inserted (table and primary
key), and a look-up of them that waits for the transaction that wrote them to end."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import and_, event, inspect, literal, select
from sqlalchemy.orm import Session, UOWTransaction

from relational.db import WriteSession
from relational.models import Base

T = TypeVar("T")
#: a row: ``{"table": "DataCollection", "key": {"dataCollectionId": 7}}`` (JSON-friendly, kept with the answer)
RowRef = dict[str, Any]


async def run_tracking_inserts(db: WriteSession, work: Callable[[], Awaitable[T]]) -> tuple[T, list[RowRef]]:
    """``await work()``, flushed, with the rows its flushes inserted through the ORM (``add``; a Core ``insert()``
    is not seen)."""
    rows: list[RowRef] = []

    def seen(session: Session, _flush: UOWTransaction) -> None:
        for instance in session.new:
            mapper = inspect(instance).mapper
            values = mapper.primary_key_from_instance(instance)
            key = {column.name: value for column, value in zip(mapper.primary_key, values, strict=True)}
            rows.append({"table": mapper.local_table.name, "key": key})

    event.listen(db.sync_session, "after_flush", seen)
    try:
        answer = await work()
        await db.flush()
    finally:
        event.remove(db.sync_session, "after_flush", seen)
    return answer, rows


async def rows_exist(db: WriteSession, rows: list[RowRef]) -> bool:
    """Whether every row is committed. A locking read: a row another transaction inserted and has not ended waits
    for its commit or rollback (MariaDB), so the answer is final. Unknown tables count as absent."""
    for row in rows:
        table = Base.metadata.tables.get(row["table"])
        if table is None or not row["key"] or any(name not in table.c for name in row["key"]):
            return False
        where = and_(*(table.c[name] == value for name, value in row["key"].items()))
        found = await db.execute(select(literal(1)).select_from(table).where(where).with_for_update(read=True))
        if found.first() is None:
            return False
    return True
