"""Image rows of a data collection, written by beamline software."""

from fastapi import Response, status

from app.deps import AcquirerDep, WriteSessionDep
from app.idempotency import OnceDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.routing import Router
from relational import acquisition
from schemas.acquisition import ImageIn, ImageStored
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound

router = Router(prefix="/images", tags=["Acquisition"], responses=responses(*AUTHENTICATED))


@router.post(
    "/image",
    response_model=ImageStored,
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Forbidden, Conflict, InvalidInput, *DOCUMENT_STORE),
)
async def store_image(
    body: ImageIn, caller: AcquirerDep, db: WriteSessionDep, once: OnceDep, response: Response
) -> object:
    """A new image row of a collection, in a session the caller may write into."""
    report_ignored(response, body, "image")

    async def work() -> dict[str, int]:
        image_id = await acquisition.store_image(db, caller.identity.scope, caller.rule, body)
        return {"imageId": image_id, "dataCollectionId": body.dataCollectionId}

    return await once(work)
