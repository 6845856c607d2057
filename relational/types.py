"""Column types that read both ISPyB schema flavours the same way."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from schemas.times import sql_midnight


class LenientDateTime(TypeDecorator[datetime]):
    """DATETIME/TIMESTAMP that reads MariaDB's zero dates ('0000-00-00 …', returned as text) as NULL."""

    impl = DateTime
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return sql_midnight(value)
        if isinstance(value, str) and dialect.name == "sqlite" and value[:1].isdigit():
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
        return None


class ProcessingStatus(TypeDecorator[int]):
    """`AutoProcProgram.processingStatus`: an ENUM('RUNNING','FAILED','SUCCESS','0','1') in the official
    flavour, a TINYINT in Diamond's. Read as py-ispyb does: 1 success, 0 failed, None running."""

    impl = String(10)
    cache_ok = True
    #: column type families this column may have in a live database (see ``relational.schema_check``)
    compatible_families = frozenset({"int", "str"})

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return normalise_status(value)


def normalise_status(value: Any) -> int | None:
    """Map either flavour's processing status to 1 (success), 0 (failed) or None (running/unknown)."""
    if value in (1, "1", "SUCCESS"):
        return 1
    if value in (0, "0", "FAILED"):
        return 0
    return None
