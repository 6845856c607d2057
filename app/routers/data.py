"""Diffraction frames read from the detector's files (CBF, HDF5): an image, its header and its histogram."""

from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response

from app.auth.signed import FILE_ERRORS, FileCallerDep
from app.deps import StateDep
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from app.services import diffraction
from app.services.diffraction import FrameCache
from app.services.diffraction_files import media_type
from schemas.data import FrameHeader, FrameHistogram
from schemas.errors import InvalidInput

router = Router(prefix="/data", tags=["Data"], responses=responses(*AUTHENTICATED))
ERRORS = responses(*FILE_ERRORS, InvalidInput)

DataCollectionId = Annotated[int, Query(ge=1, lt=2**31, description="The data collection")]
ImageNumber = Annotated[int, Query(gt=0, lt=2**31, description="The image, from 1 to numberOfImages")]


async def frame_cache(request: Request, state: StateDep) -> FrameCache:
    """This worker's cache of decoded frames (ISPYB_IMAGE_CACHE_BYTES), made on first use."""
    cache: FrameCache | None = getattr(request.app.state, "frames", None)
    if cache is None:
        cache = request.app.state.frames = FrameCache(state.settings.image_cache_bytes)
    return cache


FramesDep = Annotated[FrameCache, Depends(frame_cache)]
_PICTURES: dict[str, dict[str, object]] = {"application/octet-stream": {}, "image/png": {}, "image/jpeg": {}}


@router.get(
    "/images",
    response_class=Response,
    responses={200: {"content": _PICTURES, "description": "The frame's pixels, or a picture of it"}, **ERRORS},
)
async def get_image(
    caller: FileCallerDep,
    state: StateDep,
    frames: FramesDep,
    dataCollectionId: DataCollectionId,
    imageNumber: ImageNumber,
    kind: Annotated[
        Literal["raw", "png", "jpeg"],
        Query(alias="format", description="raw: float32 little-endian pixels, row by row, as py-ispyb sends them"),
    ] = "raw",
    size: Annotated[int, Query(ge=16, le=4096, description="png/jpeg: longest side in pixels")] = 1024,
) -> Response:
    """A frame of a collection's images: its pixels (height and width in ``/data/images/header``), or a
    greyscale PNG/JPEG of it."""
    body = await diffraction.image(state, frames, caller.scope, dataCollectionId, imageNumber, kind, size)
    return Response(body, media_type=media_type(kind))


@router.get("/images/header", response_model=FrameHeader, responses=ERRORS)
async def get_image_header(
    caller: FileCallerDep,
    state: StateDep,
    frames: FramesDep,
    dataCollectionId: DataCollectionId,
    imageNumber: ImageNumber,
) -> object:
    """The frame's geometry and pixel statistics (``braggy_hdr``) and its file's own header."""
    return (await diffraction.frame(state, frames, caller.scope, dataCollectionId, imageNumber)).header


@router.get("/images/histogram", response_model=FrameHistogram, responses=ERRORS)
async def get_image_histogram(
    caller: FileCallerDep,
    state: StateDep,
    frames: FramesDep,
    dataCollectionId: DataCollectionId,
    imageNumber: ImageNumber,
) -> object:
    """The histogram of the frame's valid pixels under mean + 3 standard deviations."""
    return (await diffraction.frame(state, frames, caller.scope, dataCollectionId, imageNumber)).histogram
