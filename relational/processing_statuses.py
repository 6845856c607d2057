"""Per data collection, py-ispyb's processing statuses: which programs ran of each kind and how they ended, and
their messages counted by severity."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select

from relational import programs, screenings
from relational.flavour import SchemaInfo
from relational.models import AutoProcIntegration, AutoProcProgram, AutoProcProgramMessage
from relational.programs import visible_dcs
from relational.read_sessions import ReadSession
from relational.scope import Scope


async def get_statuses(
    db: ReadSession, scope: Scope, schema: SchemaInfo, ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per visible collection, py-ispyb's five status keys (null where there is nothing of that kind): screening,
    auto-integration and (Diamond) processing jobs' programs, one query per kind; no X-ray centring or EM yet."""
    visible = list((await db.execute(visible_dcs(scope, ids))).scalars())
    statuses: dict[int, dict[str, Any]] = {
        dc: {"screening": None, "xrc": None, "processing": None, "autoIntegration": None, "em": None} for dc in visible
    }
    if not visible:
        return statuses
    query = (
        select(
            AutoProcIntegration.dataCollectionId,
            AutoProcProgram.autoProcProgramId,
            AutoProcProgram.processingPrograms,
            AutoProcProgram.processingStatus,
        )
        .join(AutoProcProgram, AutoProcProgram.autoProcProgramId == AutoProcIntegration.autoProcProgramId)
        .where(AutoProcIntegration.dataCollectionId.in_(visible))
        .order_by(AutoProcProgram.autoProcProgramId)
    )
    integrated = [dict(r) for r in (await db.execute(query)).mappings()]
    for kind, rows in (
        ("autoIntegration", integrated),
        ("processing", await programs.job_statuses(db, schema, visible)),
    ):
        for r in rows:
            by_program = statuses[r["dataCollectionId"]][kind] or {}
            entry = {"autoProcProgramId": r["autoProcProgramId"], "status": r["processingStatus"]}
            by_program.setdefault(r["processingPrograms"] or "", []).append(entry)
            statuses[r["dataCollectionId"]][kind] = by_program
    for r in await screenings.statuses(db, visible):
        by_program = statuses[r["dataCollectionId"]]["screening"] or {}
        entry = {"indexingSuccess": r["indexingSuccess"], "status": r["strategySuccess"]}
        by_program.setdefault(r["programVersion"] or "", []).append(entry)
        statuses[r["dataCollectionId"]]["screening"] = by_program
    return statuses


async def get_message_statuses(
    db: ReadSession, scope: Scope, schema: SchemaInfo, ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Per visible collection with program messages (of programs that integrated it or, on Diamond's schema, that
    its processing jobs ran): counts of errors, warnings and info."""
    if not schema.has_table("AutoProcProgramMessage"):
        return {}
    severity = AutoProcProgramMessage.severity
    links = programs.program_collections(schema, visible_dcs(scope, ids))
    query = (
        select(
            links.c.dataCollectionId,
            func.sum(case((severity == "ERROR", 1), else_=0)).label("errors"),
            func.sum(case((severity == "WARNING", 1), else_=0)).label("warnings"),
            func.sum(case((severity == "INFO", 1), else_=0)).label("info"),
        )
        .join(links, links.c.autoProcProgramId == AutoProcProgramMessage.autoProcProgramId)
        .group_by(links.c.dataCollectionId)
    )
    return {
        r["dataCollectionId"]: {k: int(r[k] or 0) for k in ("errors", "warnings", "info")}
        for r in (await db.execute(query)).mappings()
    }
