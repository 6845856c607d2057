"""A data collection's pictures: crystal snapshots, the diffraction thumbnail and the quality-indicator plot, as
py-ispyb serves them (``pyispyb/core/routes/datacollections.py``), from ISPYB_DATA_ROOTS only (``app.files``)."""

from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import Query, Request, Response

from app.auth.signed import FILE_ERRORS, FileCallerDep
from app.deps import ReadSessionDep, SchemaDep, StateDep
from app.files import file_response
from app.problems import AUTHENTICATED, responses
from app.routers.params import Id
from app.routers.routing import Router
from relational import collection_files
from schemas.errors import NotFound

#: the answer's OpenAPI: a picture, not JSON
PICTURE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The picture", "content": {"image/png": {}, "image/jpeg": {}, "image/gif": {}}}
}
router = Router(
    prefix="/datacollections",
    tags=["Data collections"],
    responses={**responses(*AUTHENTICATED, *FILE_ERRORS), **PICTURE},
    default_response_class=Response,
)
Snapshot = Annotated[bool, Query(description="The thumbnail instead of the full picture")]


def _thumbnails(path: str) -> list[str]:
    """Where a snapshot's thumbnail may be, as py-ispyb looks for it (``x.png`` → ``xt.png``), then ``x_t.png``."""
    pure = PurePosixPath(path)
    if not pure.suffix:
        return []
    return [str(pure.with_name(f"{pure.stem}t{pure.suffix}")), str(pure.with_name(f"{pure.stem}_t{pure.suffix}"))]


@router.get("/images/diffraction/{dataCollectionId}")
async def get_datacollection_diffraction_image(
    dataCollectionId: Id,
    request: Request,
    caller: FileCallerDep,
    state: StateDep,
    db: ReadSessionDep,
    snapshot: Snapshot = False,
) -> Response:
    """The JPEG of the collection's first image (its thumbnail with ``snapshot``)."""
    stored = await collection_files.first_image_jpeg(db, caller.scope, dataCollectionId, thumbnail=snapshot)
    return await file_response(state, request, stored)


@router.get("/images/quality/{dataCollectionId}")
async def get_datacollection_analysis_image(
    dataCollectionId: Id,
    request: Request,
    caller: FileCallerDep,
    state: StateDep,
    db: ReadSessionDep,
    schema: SchemaDep,
) -> Response:
    """The collection's per-image analysis plot (``imageQualityIndicatorsPlotPath``; none on Diamond's schema)."""
    files = await collection_files.collection_files(db, caller.scope, schema, dataCollectionId)
    return await file_response(state, request, files.qualityPlot if files else None)


@router.get("/images/{dataCollectionId}")
async def get_datacollection_image(
    dataCollectionId: Id,
    request: Request,
    caller: FileCallerDep,
    state: StateDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    imageId: Annotated[int, Query(ge=1, le=4, description="Crystal snapshot 1-4")] = 1,
    snapshot: Snapshot = False,
) -> Response:
    """A crystal snapshot (``xtalSnapshotFullPath1..4``); with ``snapshot``, its thumbnail where there is one."""
    files = await collection_files.collection_files(db, caller.scope, schema, dataCollectionId)
    stored = files.snapshots[imageId - 1] if files else None
    if stored and snapshot:
        for thumbnail in _thumbnails(stored):
            try:
                return await file_response(state, request, thumbnail)
            except NotFound:
                continue
    return await file_response(state, request, stored)
