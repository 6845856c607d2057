"""Files attached to data collections (``DataCollectionFileAttachment``) and to processing programs
(``AutoProcProgramAttachment``), within the caller's reach; their counts for the timeline."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from relational.common import Page, columns, paged, where_given
from relational.flavour import SchemaInfo
from relational.models import AutoProcProgram, AutoProcProgramAttachment, DataCollection
from relational.models.analysis import DataCollectionFileAttachment
from relational.programs import visible_dcs, visible_programs
from relational.read_sessions import ReadSession
from relational.scope import Scope

_ATTACHMENT = DataCollectionFileAttachment.dataCollectionFileAttachmentId
#: files attached to each of the collections ``ids`` (built once: the statement keeps its compiled SQL)
_PER_COLLECTION = (
    select(DataCollectionFileAttachment.dataCollectionId, func.count(_ATTACHMENT))
    .where(DataCollectionFileAttachment.dataCollectionId.in_(bindparam("ids", expanding=True)))
    .group_by(DataCollectionFileAttachment.dataCollectionId)
)
_SHOWN, _MEMBER = aliased(DataCollection), aliased(DataCollection)
#: files attached to any collection of the group of each of the collections ``ids``
_PER_GROUP = (
    select(_SHOWN.dataCollectionId, func.count(_ATTACHMENT))
    .join(_MEMBER, _MEMBER.dataCollectionGroupId == _SHOWN.dataCollectionGroupId)
    .join(DataCollectionFileAttachment, DataCollectionFileAttachment.dataCollectionId == _MEMBER.dataCollectionId)
    .where(_SHOWN.dataCollectionId.in_(bindparam("ids", expanding=True)))
    .group_by(_SHOWN.dataCollectionId)
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


async def collection_counts(db: ReadSession, ids: Sequence[int], per_group: bool) -> dict[int, int]:
    """Per collection id (callers have scoped ``ids``), how many files are attached to it, or with ``per_group``
    to every collection of its group; one grouped count."""
    if not ids:
        return {}
    found = {
        int(dc): int(n) for dc, n in await db.execute(_PER_GROUP if per_group else _PER_COLLECTION, {"ids": list(ids)})
    }
    return {dc: found.get(dc, 0) for dc in ids}


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
