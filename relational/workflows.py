"""Workflow steps (official flavour: Diamond's schema has no workflows), within the caller's reach through the
collection group that ran the workflow."""

from typing import Any

from sqlalchemy import ColumnElement, Integer, column, select

from relational.common import Page, columns, paged, where_given
from relational.flavour import SchemaInfo
from relational.models import BLSession, DataCollectionGroup
from relational.models.workflows import WorkflowStep
from relational.read_sessions import ReadSession
from relational.scope import Scope

#: the group's workflow (a column only the official flavour has)
WORKFLOW_OF_GROUP: ColumnElement[int] = column("workflowId", Integer(), _selectable=DataCollectionGroup.__table__)
#: a group's workflow as the items of its collections show it
WORKFLOW_FIELDS = ("workflowId", "comments", "status", "workflowTitle", "workflowType")
#: the step columns that name a file
FILES = ("imageResultFilePath", "resultFilePath", "htmlResultFilePath")


def has_workflows(schema: SchemaInfo) -> bool:
    return schema.has_table("WorkflowStep") and schema.has_optional("DataCollectionGroup", "workflowId")


def _steps(scope: Scope) -> Any:
    reached = (
        select(WORKFLOW_OF_GROUP)
        .select_from(DataCollectionGroup)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(scope.sessions())
    )
    return (
        select(*columns(WorkflowStep)).where(WorkflowStep.workflowId.in_(reached)).order_by(WorkflowStep.workflowStepId)
    )


async def get_steps(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    workflowId: int | None = None,
    workflowStepId: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Steps of the workflows the caller reaches (of one workflow), in the order run; none where the database has
    no workflows."""
    if not has_workflows(schema):
        return 0, []
    query = where_given(
        _steps(scope), (WorkflowStep.workflowId, workflowId), (WorkflowStep.workflowStepId, workflowStepId)
    )
    return await paged(db, query, page)


async def get_step(db: ReadSession, scope: Scope, schema: SchemaInfo, step_id: int) -> dict[str, Any] | None:
    """One step the caller reaches; None if absent, out of reach or the database has no workflows."""
    if not has_workflows(schema):
        return None
    row = (await db.execute(_steps(scope).where(WorkflowStep.workflowStepId == step_id))).mappings().first()
    return dict(row) if row else None
