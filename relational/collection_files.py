"""The files a data collection names (crystal snapshots, the quality-indicator plot, its first image's JPEGs), as
stored, for a collection in the caller's reach."""

from dataclasses import dataclass

from sqlalchemy import select

from relational.flavour import SchemaInfo
from relational.models import BLSession, DataCollection, DataCollectionGroup, Image
from relational.read_sessions import ReadSession
from relational.scope import Scope


@dataclass(frozen=True)
class CollectionFiles:
    """Paths as stored (None: nothing stored)."""

    #: ``xtalSnapshotFullPath1..4``
    snapshots: tuple[str | None, str | None, str | None, str | None]
    #: ``imageQualityIndicatorsPlotPath`` (None where the schema lacks it: Diamond's)
    qualityPlot: str | None


async def collection_files(
    db: ReadSession, scope: Scope, schema: SchemaInfo, data_collection_id: int
) -> CollectionFiles | None:
    """A visible collection's snapshots and plot; None when it is absent or out of reach."""
    query = (
        select(
            DataCollection.xtalSnapshotFullPath1,
            DataCollection.xtalSnapshotFullPath2,
            DataCollection.xtalSnapshotFullPath3,
            DataCollection.xtalSnapshotFullPath4,
            schema.optional("DataCollection", "imageQualityIndicatorsPlotPath"),
        )
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(DataCollection.dataCollectionId == data_collection_id, scope.sessions())
    )
    row = (await db.execute(query)).first()
    if row is None:
        return None
    return CollectionFiles(snapshots=(row[0], row[1], row[2], row[3]), qualityPlot=row[4])


async def first_image_jpeg(db: ReadSession, scope: Scope, data_collection_id: int, thumbnail: bool) -> str | None:
    """The JPEG (or its thumbnail) of image number 1 of a visible collection; None when there is none, or the
    collection is absent or out of reach (py-ispyb's diffraction snapshot)."""
    column = Image.jpegThumbnailFileFullPath if thumbnail else Image.jpegFileFullPath
    query = (
        select(column)
        .join(DataCollection, DataCollection.dataCollectionId == Image.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .where(Image.dataCollectionId == data_collection_id, Image.imageNumber == 1, scope.sessions())
        .order_by(Image.imageId)
        .limit(1)
    )
    return (await db.execute(query)).scalar_one_or_none()
