"""Where a data collection's diffraction frames are: its directory, file template and number of images."""

from dataclasses import dataclass

from sqlalchemy import select

from relational.models import BLSession, DataCollection, DataCollectionGroup
from relational.read_sessions import ReadSession
from relational.scope import Scope


@dataclass(frozen=True)
class FrameSource:
    """A collection's frames as stored: ``fileTemplate`` is one HDF5 master file, or a name with the image's number
    in it (``%04d`` or ``####``) per frame."""

    imageDirectory: str | None
    fileTemplate: str | None
    numberOfImages: int | None
    startImageNumber: int | None


async def frame_source(db: ReadSession, scope: Scope, dataCollectionId: int) -> FrameSource | None:
    """The visible collection's frame files; None when it is absent or out of the caller's reach."""
    query = (
        select(
            DataCollection.imageDirectory,
            DataCollection.fileTemplate,
            DataCollection.numberOfImages,
            DataCollection.startImageNumber,
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(DataCollection.dataCollectionId == dataCollectionId, scope.sessions())
    )
    row = (await db.execute(query)).mappings().first()
    return None if row is None else FrameSource(**row)
