"""The shipment import as one service for the route and the CLI: file → header → rows → checks → one write."""

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from anyio import to_thread

from app.services.spreadsheets import Limits, csv_bytes, read_table, xlsx_bytes
from app.settings import Settings
from relational import shipment_import
from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.reach import proposal_id_by_name
from relational.scope import Scope
from schemas.errors import ImportRejected, InvalidInput
from schemas.shipment_import import IGNORED, PROFILES, ImportReport, ImportRow, RowError, map_header, parse_row


def profiles(settings: Settings) -> dict[str, dict[str, str]]:
    """The built-in column profiles, with the facility's own (``ISPYB_IMPORT_PROFILES``) over them."""
    return PROFILES | settings.import_profiles


def template(settings: Settings, profile: str, kind: str) -> tuple[bytes, str]:
    """(file, media type) of an empty sheet with a profile's columns and one example row."""
    columns = profiles(settings)[profile]
    example = {
        "dewar": "Dewar-1",
        "containerBarcode": "PK-0001",
        "containerCode": "puck1",
        "containerType": "Unipuck",
        "position": 1,
        "sampleName": "lyso_01",
        "proteinAcronym": "lyso",
        "spaceGroup": "P43212",
        "experimentKind": "OSC",
        "requiredResolution": 1.8,
    }
    header = list(columns.values())
    row = [example.get(field) for field in columns]
    if kind == "xlsx":
        return xlsx_bytes(header, [row]), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return csv_bytes(header, [row]), "text/csv"


def validate(
    settings: Settings,
    schema: SchemaInfo,
    content: bytes,
    filename: str,
    profile: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> shipment_import.Plan:
    """The sheet read, every row validated and the rows checked together (what needs no database), problems
    gathered in the plan. Pure CPU work: ``import_sheet`` runs it in a worker thread."""
    known = profiles(settings)
    limits = Limits(settings.import_max_unpacked_bytes, settings.import_max_unpack_ratio)
    header, numbered = read_table(content, filename, limits)
    try:
        fields = map_header(header, known[profile], IGNORED.get(profile, ()))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    headers = {f: h for f, h in zip(fields, header, strict=True) if f}
    rows: list[tuple[int, ImportRow]] = []
    errors: list[RowError] = []
    for number, cells in numbered:
        values: dict[str, Any] = {f: v for f, v in zip(fields, cells, strict=False) if f}
        parsed = parse_row(number, values, headers)
        if isinstance(parsed, list):
            errors.extend(parsed)
        else:
            rows.append((number, parsed))
        if progress and number % 500 == 0:
            progress("validating", len(rows) + len(errors), 0)
    if not rows and not errors:
        raise InvalidInput("The sheet has a header but no rows")
    plan = shipment_import.Plan(rows, headers)
    plan.errors.extend(errors)
    plan.check_sheet(settings.container_types, schema.experiment_kinds)
    return plan


async def import_sheet(
    db: WriteSession,
    scope: Scope,
    schema: SchemaInfo,
    settings: Settings,
    *,
    content: bytes,
    filename: str,
    proposal: str,
    profile: str = "default",
    shipping_id: int | None = None,
    shipping_name: str | None = None,
    dry_run: bool = False,
    person_id: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Validate every row, then write all of them or none (the caller's unit of work commits); ImportRejected
    lists all problems at once. Reading and validating run in a worker thread, so that a large sheet does not
    hold up the event loop; the database work stays on it."""
    proposal_id = await proposal_id_by_name(db, scope, proposal)
    if profile not in profiles(settings):
        raise InvalidInput(f"Unknown profile `{profile}`; known: {', '.join(profiles(settings))}")
    plan = await to_thread.run_sync(validate, settings, schema, content, filename, profile, progress)
    total = len(plan.rows)
    result = await shipment_import.run(
        db,
        scope,
        plan,
        proposal_id=proposal_id,
        shipping_id=shipping_id,
        shipping_name=shipping_name or PurePath(filename).stem[:45] or "Imported shipment",
        capacities=settings.container_types,
        create_proteins=settings.import_create_proteins,
        dry_run=dry_run,
        person_id=person_id,
        progress=(lambda done: progress("writing", done, total)) if progress else None,
    )
    if isinstance(result, list):
        rows_with_errors = len({e.row for e in result})
        raise ImportRejected(
            f"{len(result)} problem(s) on {rows_with_errors} row(s); nothing was imported",
            errors=[e.model_dump() for e in result],
        )
    return result
