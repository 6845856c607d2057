"""Auto-processing of data collections: programs, integrations, scaling statistics, messages (their per-collection
statuses: ``processing_statuses``; each collection's best: ``best_processing``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Join, Result, Select, bindparam, func, join, select

from relational import programs
from relational.batches import Slice, by_ids, by_parent
from relational.common import Page, RowPart, columns, page_of, paged, paged_with
from relational.flavour import SchemaInfo
from relational.models import (
    AutoProc,
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramAttachment,
    AutoProcProgramMessage,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
    BLSession,
    DataCollection,
    DataCollectionGroup,
)
from relational.models.jobs import ProcessingJob
from relational.programs import visible_dcs
from relational.read_sessions import ReadSession
from relational.scope import Scope
from relational.statements import built_once

#: a program's columns and its attachment count (``_attachments``)
_PROGRAM = [
    *columns(AutoProcProgram),
    select(func.count())
    .where(AutoProcProgramAttachment.autoProcProgramId == AutoProcProgram.autoProcProgramId)
    .scalar_subquery()
    .label("_attachments"),
]


def _programs(where: ColumnElement[bool]) -> Select[Any]:
    """Programs with their attachment count, newest first."""
    return select(*_PROGRAM).where(where).order_by(AutoProcProgram.autoProcProgramId.desc())


async def get_auto_integrations(
    db: ReadSession, scope: Scope, schema: SchemaInfo, page: Page, dataCollectionId: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Programs that integrated visible collections, each with integrations → scaling → shells: the page of
    programs, its total and their integrations in one query, then the programs' messages."""
    one = dataCollectionId is not None
    values = {"dataCollectionId": dataCollectionId} if one else {}
    statement, program_keys = _programs_with_integrations(scope, one, schema)
    total, programs = await paged_with(
        db, _auto_integrations(scope, one), statement, page, values, lambda result: _folded(result, program_keys)
    )
    await _add_metadata(db, schema, programs)
    return total, programs


@built_once
def _auto_integrations(scope: Scope, one: bool) -> Select[Any]:
    """Programs that integrated the visible collections (``one``: the collection ``dataCollectionId``)."""
    dcs = visible_dcs(scope)
    if one:
        dcs = dcs.where(DataCollection.dataCollectionId == bindparam("dataCollectionId"))
    integrated = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.dataCollectionId.in_(dcs))
    return _programs(AutoProcProgram.autoProcProgramId.in_(integrated))


async def auto_integrations_of(
    db: ReadSession, scope: Scope, schema: SchemaInfo, dataCollectionId: int
) -> list[dict[str, Any]]:
    """Every program that integrated one visible collection, as ``get_auto_integrations`` shows them (no page: a
    collection has a few), in one query, then the programs' messages."""
    statement, program_keys = _integrations_of_one(scope, schema)
    programs = _folded(await db.execute(statement, {"dataCollectionId": dataCollectionId}), program_keys)
    await _add_metadata(db, schema, programs)
    return programs


async def _add_metadata(db: ReadSession, schema: SchemaInfo, programs: list[dict[str, Any]]) -> None:
    """py-ispyb's ``_metadata``: attachment count and program messages (never null)."""
    if not programs:
        return
    messages = await _messages(db, schema, [p["autoProcProgramId"] for p in programs])
    for program in programs:
        program["_metadata"] = {
            "attachments": int(program.pop("_attachments") or 0),
            "autoProcProgramMessages": messages.get(program["autoProcProgramId"], []),
            "imageSweepCount": None,
        }


async def get_processings(
    db: ReadSession, scope: Scope, schema: SchemaInfo, page: Page, dataCollectionId: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Programs run on a visible collection that integrated nothing (reprocessing, phasing…), through the
    official flavour's ``AutoProcProgram.dataCollectionId`` or Diamond's ``ProcessingJob`` (then with its
    ``ProcessingJob``); empty where the database has neither link."""
    visible = visible_dcs(scope, None if dataCollectionId is None else [dataCollectionId])
    if programs.has_jobs(schema):
        jobs = select(ProcessingJob.processingJobId).where(ProcessingJob.dataCollectionId.in_(visible))
        linked = programs.JOB_OF_PROGRAM.in_(jobs)
    elif schema.has_optional("AutoProcProgram", "dataCollectionId"):
        linked = schema.optional("AutoProcProgram", "dataCollectionId").element.in_(visible)  # the bare column
    else:
        return 0, []
    integrated = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.autoProcProgramId.is_not(None))
    query = _programs(linked & AutoProcProgram.autoProcProgramId.not_in(integrated))
    total, rows = await paged(db, query, page)
    await _add_metadata(db, schema, rows)
    jobs_of = await programs.jobs_of(db, schema, [r["autoProcProgramId"] for r in rows])
    for row in rows:
        row["ProcessingJob"] = jobs_of.get(row["autoProcProgramId"])
    return total, rows


_AUTO_PROC = [c.label(f"ap_{c.name}") for c in columns(AutoProc, "autoProcProgramId", "recordTimeStamp")]
_SHELL = "st_"
_INTEGRATION_PREFIX = "i_"
#: an integration's columns (and its collection's beam centre, its scaling link), prefixed ``i_``
_INTEGRATION_ROW = [
    c.label(f"{_INTEGRATION_PREFIX}{c.name}")
    for c in (
        AutoProcIntegration.autoProcIntegrationId,
        AutoProcIntegration.dataCollectionId,
        AutoProcIntegration.refinedXBeam,
        AutoProcIntegration.refinedYBeam,
        DataCollection.xBeam,
        DataCollection.yBeam,
        AutoProcScalingHasInt.autoProcScaling_has_IntId,
        AutoProcScaling.autoProcScalingId,
    )
]
#: a program's rows in order: by integration, scaling link, shell
_BELOW_PROGRAM = (
    AutoProcIntegration.autoProcIntegrationId,
    AutoProcScalingHasInt.autoProcScaling_has_IntId,
    AutoProcScalingStatistics.autoProcScalingStatisticsId,
)


@built_once
def _programs_with_integrations(scope: Scope, one: bool, schema: SchemaInfo) -> tuple[Select[Any], list[str]]:
    """A page of ``_auto_integrations`` joined to its programs' integrations of visible collections (``one``: of
    the collection ``dataCollectionId``) down to the scaling's shells: a row per shell, integration columns
    prefixed ``i_``, AutoProc's ``ap_``, the shells' ``st_``; with the names of the program columns."""
    page = page_of(_auto_integrations(scope, one))
    if one:
        of_collections = AutoProcIntegration.dataCollectionId == bindparam("dataCollectionId")
    else:
        of_collections = AutoProcIntegration.dataCollectionId.in_(visible_dcs(scope))
    integrations = page.outerjoin(
        AutoProcIntegration, (AutoProcIntegration.autoProcProgramId == page.c.autoProcProgramId) & of_collections
    ).outerjoin(DataCollection, DataCollection.dataCollectionId == AutoProcIntegration.dataCollectionId)
    query = (
        select(page, *_INTEGRATION_ROW, *_AUTO_PROC, *_shells(schema))
        .select_from(_down_to_shells(integrations))
        .order_by(page.c.autoProcProgramId.desc(), *_BELOW_PROGRAM)
    )
    return query, [c.name for c in page.c]


@built_once
def _integrations_of_one(scope: Scope, schema: SchemaInfo) -> tuple[Select[Any], list[str]]:
    """Every program that integrated the visible collection ``dataCollectionId``, newest first, with its
    integrations of it down to the shells, named as ``_programs_with_integrations`` names them: one flat join (no
    page, no count), which MariaDB runs 10-40 % faster than the page's; with the names of the program columns."""
    integrations = (
        join(AutoProcIntegration, AutoProcProgram)
        .join(DataCollection, DataCollection.dataCollectionId == AutoProcIntegration.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
    )
    query = (
        select(*_PROGRAM, *_INTEGRATION_ROW, *_AUTO_PROC, *_shells(schema))
        .select_from(_down_to_shells(integrations))
        .where(AutoProcIntegration.dataCollectionId == bindparam("dataCollectionId"), scope.sessions())
        .order_by(AutoProcProgram.autoProcProgramId.desc(), *_BELOW_PROGRAM)
    )
    return query, [c.name for c in _PROGRAM]


def _down_to_shells(integrations: Join) -> Join:
    """``integrations`` (a join holding ``AutoProcIntegration``) outer-joined to their scaling and its shells."""
    return (
        integrations.outerjoin(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcIntegrationId == AutoProcIntegration.autoProcIntegrationId,
        )
        .outerjoin(AutoProcScaling, AutoProcScaling.autoProcScalingId == AutoProcScalingHasInt.autoProcScalingId)
        .outerjoin(AutoProc, AutoProc.autoProcId == AutoProcScaling.autoProcId)
        .outerjoin(
            AutoProcScalingStatistics,
            AutoProcScalingStatistics.autoProcScalingId == AutoProcScaling.autoProcScalingId,
        )
    )


@dataclass(frozen=True)
class _Fold:
    """Where ``_folded`` finds each level of a program's nesting in a row (``RowPart``), per result shape."""

    program: RowPart
    program_id: int
    integration: RowPart
    integration_id: int
    beam: RowPart
    link_id: int
    scaling_id: int
    auto_proc: RowPart
    shell: RowPart
    shell_id: int


@lru_cache(maxsize=32)
def _fold(keys: tuple[str, ...], program_keys: tuple[str, ...]) -> _Fold:
    i = _INTEGRATION_PREFIX
    integration = ("autoProcIntegrationId", "dataCollectionId", "refinedXBeam", "refinedYBeam")
    return _Fold(
        program=RowPart(keys, [(k, k) for k in program_keys]),
        program_id=keys.index("autoProcProgramId"),
        integration=RowPart(keys, [(k, f"{i}{k}") for k in integration]),
        integration_id=keys.index(f"{i}autoProcIntegrationId"),
        beam=RowPart(keys, [("xBeam", f"{i}xBeam"), ("yBeam", f"{i}yBeam")]),
        link_id=keys.index(f"{i}autoProcScaling_has_IntId"),
        scaling_id=keys.index(f"{i}autoProcScalingId"),
        auto_proc=RowPart(keys, [(c.name[3:], c.name) for c in _AUTO_PROC]),
        shell=RowPart.prefixed(keys, _SHELL),
        shell_id=keys.index(f"{_SHELL}autoProcScalingStatisticsId"),
    )


def _folded(result: Result[Any], program_keys: list[str]) -> list[dict[str, Any]]:
    """``_programs_with_integrations``'s rows folded: programs in their order, each with its integrations, each with
    its scaling links → scaling → AutoProc and shells."""
    f = _fold(tuple(result.keys()), tuple(program_keys))
    programs: dict[int, dict[str, Any]] = {}
    integrations: dict[int, dict[str, Any]] = {}
    links: dict[tuple[int, int], dict[str, Any] | None] = {}
    for r in result:
        program = programs.get(r[f.program_id])
        if program is None:
            program = programs[r[f.program_id]] = f.program.of(r)
            program["AutoProcIntegration"] = []
        integration_id = r[f.integration_id]
        if integration_id is None:
            continue
        integration = integrations.get(integration_id)
        if integration is None:
            integration = integrations[integration_id] = f.integration.of(r)
            integration["DataCollection"] = f.beam.of(r)
            integration["AutoProcScalingHasInt"] = []
            program["AutoProcIntegration"].append(integration)
        link_id = r[f.link_id]
        if link_id is None:
            continue
        link = (integration_id, link_id)
        if link not in links:
            scaling = links[link] = None
            if r[f.scaling_id] is not None:
                auto_proc = f.auto_proc.of(r)
                scaling = links[link] = {
                    "autoProcScalingId": r[f.scaling_id],
                    "AutoProc": auto_proc if auto_proc["autoProcId"] is not None else None,
                    "AutoProcScalingStatistics": [],
                }
            integration["AutoProcScalingHasInt"].append(
                {"autoProcScaling_has_IntId": link_id, "AutoProcScaling": scaling}
            )
        scaling = links[link]
        if scaling is not None and r[f.shell_id] is not None:
            scaling["AutoProcScalingStatistics"].append(f.shell.of(r))
    return list(programs.values())


def _shells(schema: SchemaInfo) -> list[ColumnElement[Any]]:
    """The shells' columns, prefixed ``st_``."""
    return [c.label(f"{_SHELL}{c.name}") for c in _shell_columns(schema)]


def _shell_columns(schema: SchemaInfo) -> list[ColumnElement[Any]]:
    return [
        *columns(AutoProcScalingStatistics, "recordTimeStamp", "rMeasWithinIPlusIMinus", "rPimWithinIPlusIMinus"),
        schema.optional("AutoProcScalingStatistics", "ccAnomalous"),
        schema.optional("AutoProcScalingStatistics", "resIOverSigI2"),
    ]


#: the messages of the programs ``ids``
_MESSAGES = (
    select(*columns(AutoProcProgramMessage))
    .where(AutoProcProgramMessage.autoProcProgramId.in_(bindparam("ids", expanding=True)))
    .order_by(AutoProcProgramMessage.autoProcProgramMessageId)
)


async def _messages(db: ReadSession, schema: SchemaInfo, program_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not schema.has_table("AutoProcProgramMessage"):
        return {}
    out: dict[int, list[dict[str, Any]]] = {}
    for r in (await db.execute(_MESSAGES, {"ids": program_ids})).mappings():
        out.setdefault(r["autoProcProgramId"], []).append(dict(r))
    return out


_INTEGRATION = columns(AutoProcIntegration, "recordTimeStamp")


async def integrations_of(db: ReadSession, scope: Scope, collection_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per collection, that page of the auto-integrations of it (oldest first), if the caller sees it."""
    query = select(*_INTEGRATION).where(AutoProcIntegration.dataCollectionId.in_(visible_dcs(scope)))
    order = (AutoProcIntegration.autoProcIntegrationId,)
    return await by_parent(db, query, AutoProcIntegration.dataCollectionId, collection_ids, order, page)


async def statistics_of_integrations(
    db: ReadSession, scope: Scope, schema: SchemaInfo, integration_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Per visible integration, the statistics shells of the scalings it is part of, in the order stored."""
    if not integration_ids:
        return {}
    query = (
        select(*_shell_columns(schema), AutoProcScalingHasInt.autoProcIntegrationId.label("_integration"))
        .join(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcScalingId == AutoProcScalingStatistics.autoProcScalingId,
        )
        .join(
            AutoProcIntegration,
            AutoProcIntegration.autoProcIntegrationId == AutoProcScalingHasInt.autoProcIntegrationId,
        )
        .where(
            AutoProcScalingHasInt.autoProcIntegrationId.in_(sorted(set(integration_ids))),
            AutoProcIntegration.dataCollectionId.in_(visible_dcs(scope)),
        )
        .order_by(AutoProcScalingStatistics.autoProcScalingStatisticsId)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for mapping in (await db.execute(query)).mappings():
        row = dict(mapping)
        found.setdefault(row.pop("_integration"), []).append(row)
    return found


async def programs_by_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The programs among ``ids`` that integrated a collection the caller sees."""
    integrated = select(AutoProcIntegration.autoProcProgramId).where(
        AutoProcIntegration.dataCollectionId.in_(visible_dcs(scope))
    )
    query = select(*columns(AutoProcProgram)).where(AutoProcProgram.autoProcProgramId.in_(integrated))
    return await by_ids(db, query, AutoProcProgram.autoProcProgramId, ids)
