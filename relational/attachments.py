"""Files attached to data collections (``DataCollectionFileAttachment``) and to processing programs
(``AutoProcProgramAttachment``), within the caller's reach; their counts for the timeline."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from relational.common import Page, columns, paged, where_given
from relational.flavour import SchemaInfo
from relational.models import AutoProcProgram, AutoProcProgramAttachment, DataCollection
from relational.models.analysis import DataCollectionFileAttachment
from relational.programs import visible_dcs, visible_programs
from relational.read_sessions import ReadSession
from relational.scope import Scope

_ATTACHMENT = DataCollectionFileAttachment.dataCollectionFileAttachmentId
_MEMBER = aliased(DataCollection)
#: files attached to the enclosing query's ``DataCollection`` row, as a column
FILES_OF_COLLECTION = (
    select(func.count(_ATTACHMENT))
    .where(DataCollectionFileAttachment.dataCollectionId == DataCollection.dataCollectionId)
    .scalar_subquery()
)
#: files attached to any collection of the group of the enclosing query's ``DataCollection`` row, as a column
FILES_OF_GROUP = (
    select(func.count(_ATTACHMENT))
    .join(_MEMBER, _MEMBER.dataCollectionId == DataCollectionFileAttachment.dataCollectionId)
    .where(_MEMBER.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
    .scalar_subquery()
)


def _collection_attachments(scope: Scope) -> Any:
    return (
        select(*columns(DataCollectionFileAttachment))
        .where(DataCollectionFileAttachment.dataCollectionId.in_(visible_dcs(scope)))
        .order_by(DataCollectionFileAttachment.dataCollectionFileAttachmentId)
    )


async def get_collection_attachments(
    db: ReadSession,
    scope: Scope,
    page: Page,
    dataCollectionId: int | None = None,
    dataCollectionGroupId: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Attachments of the visible collections (of one collection, or of one group's collections)."""
    query = where_given(
        _collection_attachments(scope), (DataCollectionFileAttachment.dataCollectionId, dataCollectionId)
    )
    if dataCollectionGroupId is not None:
        in_group = select(DataCollection.dataCollectionId).where(
            DataCollection.dataCollectionGroupId == dataCollectionGroupId
        )
        query = query.where(DataCollectionFileAttachment.dataCollectionId.in_(in_group))
    return await paged(db, query, page)


async def get_collection_attachment(db: ReadSession, scope: Scope, attachment_id: int) -> dict[str, Any] | None:
    """One visible collection attachment; None if absent or out of reach."""
    query = _collection_attachments(scope).where(
        DataCollectionFileAttachment.dataCollectionFileAttachmentId == attachment_id
    )
    row = (await db.execute(query)).mappings().first()
    return dict(row) if row else None


def _program_attachments(scope: Scope, schema: SchemaInfo) -> Any:
    programs = select(AutoProcProgram.autoProcProgramId).where(visible_programs(scope, schema))
    return (
        select(*columns(AutoProcProgramAttachment), schema.optional("AutoProcProgramAttachment", "importanceRank"))
        .where(AutoProcProgramAttachment.autoProcProgramId.in_(programs))
        .order_by(AutoProcProgramAttachment.autoProcProgramAttachmentId)
    )


async def get_program_attachments(
    db: ReadSession,
    scope: Scope,
    schema: SchemaInfo,
    page: Page,
    autoProcProgramId: int | None = None,
    autoProcProgramAttachmentId: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Attachments of the visible processing programs (of one program; one attachment)."""
    query = where_given(
        _program_attachments(scope, schema),
        (AutoProcProgramAttachment.autoProcProgramId, autoProcProgramId),
        (AutoProcProgramAttachment.autoProcProgramAttachmentId, autoProcProgramAttachmentId),
    )
    return await paged(db, query, page)


async def get_program_attachment(
    db: ReadSession, scope: Scope, schema: SchemaInfo, attachment_id: int
) -> dict[str, Any] | None:
    """One visible program attachment; None if absent or out of reach."""
    query = _program_attachments(scope, schema).where(
        AutoProcProgramAttachment.autoProcProgramAttachmentId == attachment_id
    )
    row = (await db.execute(query)).mappings().first()
    return dict(row) if row else None
