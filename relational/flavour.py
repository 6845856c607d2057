"""What the live relational database holds: which ISPyB flavour, and which optional columns and tables.

Detected once at start-up (``detect``); data access asks the resulting ``SchemaInfo`` for flavour-specific
columns, which degrade to NULL where the database lacks them.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Float, Integer, String, inspect, literal_column, null, text
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from relational.models import Base

#: API field -> (table, candidate column names in preference order, type): columns one flavour lacks.
OPTIONAL_COLUMNS: dict[tuple[str, str], tuple[tuple[str, ...], TypeEngine[Any]]] = {
    ("AutoProcScalingStatistics", "ccAnomalous"): (("ccAnomalous", "ccAno"), Float()),
    ("AutoProcScalingStatistics", "resIOverSigI2"): (("resIOverSigI2",), Float()),
    ("DataCollection", "xBeamPix"): (("xBeamPix",), Float()),
    ("DataCollection", "yBeamPix"): (("yBeamPix",), Float()),
    ("BLSession", "nbReimbDewars"): (("nbReimbDewars",), Integer()),
    ("AutoProcProgram", "dataCollectionId"): (("dataCollectionId",), Integer()),
    ("AutoProcProgram", "processingJobId"): (("processingJobId",), Integer()),
    ("AutoProcProgramAttachment", "importanceRank"): (("importanceRank",), Integer()),
    ("DataCollection", "imageQualityIndicatorsPlotPath"): (("imageQualityIndicatorsPlotPath",), String()),
    ("DataCollectionGroup", "workflowId"): (("workflowId",), Integer()),
}


#: experiment kinds both flavours' ENUMs accept; the embedded SQLite database (a plain string column) takes these
COMMON_EXPERIMENT_KINDS = (
    "Default",
    "MXPressE",
    "MXPressO",
    "MXPressE_SAD",
    "MXScore",
    "MXPressM",
    "MAD",
    "SAD",
    "Fixed",
    "Ligand binding",
    "Refinement",
    "OSC",
    "MAD - Inverse Beam",
    "SAD - Inverse Beam",
)


@dataclass(frozen=True, eq=False)
class SchemaInfo:
    """The live schema as far as the service cares: flavour, version, columns per mapped table. Detected once per
    database and compared by identity (a key of the statements built for it, ``relational.statements``)."""

    dialect: str
    flavour: str
    schema_version: str | None
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    tables: frozenset[str] = frozenset()
    #: ``DiffractionPlan.experimentKind`` values this database accepts (its ENUM; the flavours differ)
    experiment_kinds: tuple[str, ...] = ()
    #: (table, column) -> character set of the text columns not in utf8mb4 (MariaDB; ``latin1``, ``utf8mb3``)
    narrow_charsets: dict[tuple[str, str], str] = field(default_factory=dict)

    def fits(self, table: str, column: str, value: str) -> bool:
        """Whether ``table.column`` can keep ``value``'s characters (latin1: MariaDB's, cp1252 with the five
        unassigned bytes; utf8mb3: none beyond U+FFFF)."""
        charset = self.narrow_charsets.get((table.lower(), column.lower()))
        if charset == "latin1":
            return all(ord(c) < 256 or c in _CP1252 for c in value)
        if charset == "utf8mb3":
            return all(ord(c) <= 0xFFFF for c in value)
        return True

    def has_table(self, table: str) -> bool:
        return table.lower() in self.tables

    def has_optional(self, table: str, api_field: str) -> bool:
        live = self.columns.get(table, frozenset())
        return any(name.lower() in live for name in OPTIONAL_COLUMNS[(table, api_field)][0])

    def optional(self, table: str, api_field: str) -> ColumnElement[Any]:
        """The column serving ``api_field`` in this database, or NULL, labelled ``api_field``."""
        candidates, type_ = OPTIONAL_COLUMNS[(table, api_field)]
        live = self.columns.get(table, frozenset())
        for name in candidates:
            if name.lower() in live:
                return literal_column(f"{table}.{name}", type_).label(api_field)
        return null().label(api_field)

    @property
    def degraded(self) -> list[str]:
        """What this database lacks, so the API answers it as null or empty: fields and whole tables."""
        fields = [
            f"{table}.{api_field}" for table, api_field in OPTIONAL_COLUMNS if not self.has_optional(table, api_field)
        ]
        tables = [
            name for name, t in Base.metadata.tables.items() if t.info.get("optional") and not self.has_table(name)
        ]
        return sorted(fields + tables)


#: the characters MariaDB's latin1 (cp1252) keeps beyond U+00FF
_CP1252 = frozenset(bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore"))


def _narrow_charsets(conn: Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        text(
            "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND CHARACTER_SET_NAME IN ('latin1', 'utf8mb3', 'utf8')"
        )
    )
    return {(t.lower(), c.lower()): "utf8mb3" if cs == "utf8" else cs for t, c, cs in rows}


def detect(conn: Connection) -> SchemaInfo:
    """Inspect the connected database (run through ``AsyncConnection.run_sync``)."""
    inspector = inspect(conn)
    tables = frozenset(t.lower() for t in inspector.get_table_names())
    wanted = {t for t in Base.metadata.tables} | {t for t, _ in OPTIONAL_COLUMNS}
    columns = {t: frozenset(c["name"].lower() for c in inspector.get_columns(t)) for t in wanted if t.lower() in tables}
    kinds: tuple[str, ...] = COMMON_EXPERIMENT_KINDS
    if "diffractionplan" in tables:
        kind = next(c for c in inspector.get_columns("DiffractionPlan") if c["name"] == "experimentKind")
        kinds = tuple(getattr(kind["type"], "enums", None) or COMMON_EXPERIMENT_KINDS)
    version = None
    if "adminvar" in tables:
        version = conn.execute(text("SELECT value FROM AdminVar WHERE name = 'schemaVersion'")).scalar()
    if conn.dialect.name == "sqlite":
        flavour = "embedded"
    elif "processingjob" in tables:
        flavour = "dls"
    else:
        flavour = "official"
    return SchemaInfo(
        dialect=conn.dialect.name,
        flavour=flavour,
        schema_version=version,
        columns=columns,
        tables=tables,
        experiment_kinds=kinds,
        narrow_charsets=_narrow_charsets(conn) if conn.dialect.name in ("mysql", "mariadb") else {},
    )
