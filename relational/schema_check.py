"""Compare every mapped table and column with a live database: what is missing or of an incompatible type."""

from dataclasses import dataclass

from sqlalchemy import Connection, inspect
from sqlalchemy import types as sqltypes
from sqlalchemy.types import TypeDecorator, TypeEngine

from relational.models import Base

#: which live families a model column of a given family can read
_ACCEPTS = {
    "int": {"int"},
    "float": {"float", "int"},
    "str": {"str"},
    "datetime": {"datetime"},
    "bytes": {"bytes"},
}


@dataclass(frozen=True)
class Mismatch:
    table: str
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        return f"{where}: {self.problem}"


def families(type_: TypeEngine[object]) -> set[str]:
    """The broad family ('int', 'float', 'str', 'datetime', 'bytes') of a SQLAlchemy type."""
    declared = getattr(type_, "compatible_families", None)
    if declared:
        return set(declared)
    if isinstance(type_, TypeDecorator):
        return families(type_.impl_instance)
    for family, classes in (
        ("int", (sqltypes.Boolean, sqltypes.Integer)),
        ("float", (sqltypes.Float, sqltypes.Numeric)),
        ("datetime", (sqltypes.DateTime, sqltypes.Date, sqltypes.TIMESTAMP)),
        ("str", (sqltypes.String, sqltypes.Enum)),
        ("bytes", (sqltypes.LargeBinary, sqltypes._Binary)),
    ):
        if isinstance(type_, classes):
            return {family}
    return {"other"}


def check(conn: Connection) -> list[Mismatch]:
    """Every mapped table/column the live database lacks or types incompatibly (run via ``run_sync``)."""
    inspector = inspect(conn)
    live_tables = {t.lower(): t for t in inspector.get_table_names()}
    problems: list[Mismatch] = []
    for name, table in Base.metadata.tables.items():
        if name.lower() not in live_tables:
            if not table.info.get("optional"):
                problems.append(Mismatch(name, None, "table missing"))
            continue
        live = {c["name"].lower(): c for c in inspector.get_columns(live_tables[name.lower()])}
        for column in table.columns:
            found = live.get(column.name.lower())
            if found is None:
                problems.append(Mismatch(name, column.name, "column missing"))
                continue
            accepted = set().union(*(_ACCEPTS.get(f, {f}) for f in families(column.type)))
            if not families(found["type"]) & accepted:
                problems.append(Mismatch(name, column.name, f"live type {found['type']} cannot hold {column.type}"))
    return problems
