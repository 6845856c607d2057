"""Which processing programs a caller reaches, through each link a program has to a collection: its integrations,
the official flavour's ``AutoProcProgram.dataCollectionId`` and Diamond's ``ProcessingJob``; and the programs'
messages."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Subquery, literal_column, or_, select, union

from relational.common import AnySelect, Page, columns, paged, where_given
from relational.flavour import SchemaInfo
from relational.models import (
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcProgramMessage,
    BLSession,
    DataCollection,
    DataCollectionGroup,
)
from relational.models.jobs import ProcessingJob, ProcessingJobParameter
from relational.read_sessions import ReadSession
from relational.scope import Scope

#: Diamond's link from a program to the job that ran it (a column the official flavour lacks)
JOB_OF_PROGRAM: ColumnElement[int] = literal_column("AutoProcProgram.processingJobId", Integer())


def visible_dcs(scope: Scope, ids: Sequence[int] | None = None) -> Select[Any]:
    """Ids of the collections the caller sees (among ``ids``)."""
    query = (
        select(DataCollection.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(scope.sessions())
        .correlate(None)
    )
    return query if ids is None else query.where(DataCollection.dataCollectionId.in_(ids))


def has_jobs(schema: SchemaInfo) -> bool:
    """Whether programs link to collections through Diamond's ``ProcessingJob``."""
    return schema.has_table("ProcessingJob") and schema.has_optional("AutoProcProgram", "processingJobId")


def visible_programs(scope: Scope, schema: SchemaInfo, dataCollectionId: int | None = None) -> ColumnElement[bool]:
    """Filter on ``AutoProcProgram`` rows: programs run on a collection the caller sees (on that one collection),
    through each link this database has."""
    dcs = visible_dcs(scope, None if dataCollectionId is None else [dataCollectionId])
    integrated = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.dataCollectionId.in_(dcs))
    links = [AutoProcProgram.autoProcProgramId.in_(integrated)]
    if schema.has_optional("AutoProcProgram", "dataCollectionId"):
        links.append(schema.optional("AutoProcProgram", "dataCollectionId").element.in_(dcs))
    if has_jobs(schema):
        jobs = select(ProcessingJob.processingJobId).where(ProcessingJob.dataCollectionId.in_(dcs))
        links.append(JOB_OF_PROGRAM.in_(jobs))
    return or_(*links)


def program_collections(schema: SchemaInfo, dcs: AnySelect) -> Subquery:
    """(``autoProcProgramId``, ``dataCollectionId``) of the programs that integrated one of the collections ``dcs``
    or, on Diamond's schema, that one of their processing jobs ran; each pair once."""
    pairs: list[AnySelect] = [
        select(AutoProcIntegration.autoProcProgramId, AutoProcIntegration.dataCollectionId).where(
            AutoProcIntegration.dataCollectionId.in_(dcs)
        )
    ]
    if has_jobs(schema):
        pairs.append(
            select(AutoProcProgram.autoProcProgramId, ProcessingJob.dataCollectionId)
            .select_from(AutoProcProgram)
            .join(ProcessingJob, ProcessingJob.processingJobId == JOB_OF_PROGRAM)
            .where(ProcessingJob.dataCollectionId.in_(dcs))
        )
    return union(*pairs).subquery()


async def get_messages(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    autoProcProgramId: int | None = None,
    dataCollectionId: int | None = None,
    autoProcProgramMessageId: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Messages of the visible programs (of one program, or of one collection's programs), oldest first; none
    where the database has no message table."""
    if not schema.has_table("AutoProcProgramMessage"):
        return 0, []
    programs = select(AutoProcProgram.autoProcProgramId).where(visible_programs(scope, schema, dataCollectionId))
    query = select(*columns(AutoProcProgramMessage)).where(AutoProcProgramMessage.autoProcProgramId.in_(programs))
    query = where_given(
        query,
        (AutoProcProgramMessage.autoProcProgramId, autoProcProgramId),
        (AutoProcProgramMessage.autoProcProgramMessageId, autoProcProgramMessageId),
    )
    return await paged(db, query.order_by(AutoProcProgramMessage.autoProcProgramMessageId), page)


async def job_statuses(db: ReadSession, schema: SchemaInfo, visible: Sequence[int]) -> list[dict[str, Any]]:
    """py-ispyb's ``processing`` statuses (Diamond): per program run by an automatic ``ProcessingJob`` of a
    collection among ``visible`` (scoped by the caller) that integrated nothing, its collection, program name and
    status; none where the database has no jobs."""
    if not visible or not has_jobs(schema):
        return []
    integrated = select(AutoProcIntegration.autoProcProgramId).where(AutoProcIntegration.autoProcProgramId.is_not(None))
    query = (
        select(
            ProcessingJob.dataCollectionId,
            AutoProcProgram.autoProcProgramId,
            AutoProcProgram.processingPrograms,
            AutoProcProgram.processingStatus,
        )
        .select_from(AutoProcProgram)
        .join(ProcessingJob, ProcessingJob.processingJobId == JOB_OF_PROGRAM)
        .where(
            ProcessingJob.dataCollectionId.in_(visible),
            ProcessingJob.automatic.is_(True),
            AutoProcProgram.autoProcProgramId.not_in(integrated),
        )
        .order_by(AutoProcProgram.autoProcProgramId)
    )
    return [dict(r) for r in (await db.execute(query)).mappings()]


async def jobs_of(db: ReadSession, schema: SchemaInfo, program_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per program (callers have scoped ``program_ids``), the ``ProcessingJob`` that ran it with its
    ``ProcessingJobParameters``; empty where the database has no jobs."""
    if not program_ids or not has_jobs(schema):
        return {}
    query = (
        select(AutoProcProgram.autoProcProgramId.label("_program"), *columns(ProcessingJob, "dataCollectionId"))
        .select_from(AutoProcProgram)
        .join(ProcessingJob, ProcessingJob.processingJobId == JOB_OF_PROGRAM)
        .where(AutoProcProgram.autoProcProgramId.in_(program_ids))
    )
    jobs = {}
    for row in (await db.execute(query)).mappings():
        job = dict(row)
        jobs[job.pop("_program")] = job | {"ProcessingJobParameters": []}
    if jobs:
        parameters = select(*columns(ProcessingJobParameter)).where(
            ProcessingJobParameter.processingJobId.in_({j["processingJobId"] for j in jobs.values()})
        )
        by_job: dict[int, list[dict[str, Any]]] = {}
        for row in (await db.execute(parameters.order_by(ProcessingJobParameter.processingJobParameterId))).mappings():
            by_job.setdefault(row["processingJobId"], []).append(dict(row))
        for job in jobs.values():
            job["ProcessingJobParameters"] = by_job.get(job["processingJobId"], [])
    return jobs
