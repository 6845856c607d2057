"""The demo's MX collections pointed at the demo files (``app/cli/demo_files.py`` writes them): frames, crystal
snapshots and the first image's JPEGs, so the UI's image viewer and event thumbnails show something."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import DataCollection, DataCollectionGroup, Image


@dataclass(frozen=True)
class FrameSet:
    """Frames in one directory: ``template`` is a CBF name pattern (``x_%05d.cbf``) or an HDF5 master."""

    directory: str
    template: str
    frames: int


@dataclass(frozen=True)
class DemoFiles:
    """Absolute paths of the demo files: collections alternate between the two frame sets."""

    cbf: FrameSet
    hdf5: FrameSet
    snapshots: tuple[str, str, str, str]
    diffraction_jpeg: str
    diffraction_thumbnail: str


def _mx() -> ColumnElement[bool]:
    groups = select(DataCollectionGroup.dataCollectionGroupId).where(DataCollectionGroup.experimentType == "OSC")
    return DataCollection.dataCollectionGroupId.in_(groups)


async def point_at(db: AsyncSession, files: DemoFiles) -> None:
    """Every MX (``OSC``) collection names the files: even ids the CBF frames, odd ids the HDF5 ones, each as
    many images as there are frames; and its image 1 gets an ``Image`` row with the JPEGs (flushes)."""
    names = [f"xtalSnapshotFullPath{i}" for i in range(1, 5)]
    snapshots = dict(zip(names, files.snapshots, strict=True))
    for parity, frames in ((0, files.cbf), (1, files.hdf5)):
        await db.execute(
            update(DataCollection)
            .where(_mx(), DataCollection.dataCollectionId % 2 == parity)
            .values(
                imageDirectory=frames.directory,
                fileTemplate=frames.template,
                numberOfImages=frames.frames,
                startImageNumber=1,
                axisEnd=DataCollection.axisStart + DataCollection.axisRange * frames.frames,
                **snapshots,
            )
        )
    rows = select(
        DataCollection.dataCollectionId,
        literal(1),
        literal(files.diffraction_jpeg),
        literal(files.diffraction_thumbnail),
    ).where(_mx())
    columns = ["dataCollectionId", "imageNumber", "jpegFileFullPath", "jpegThumbnailFileFullPath"]
    await db.execute(insert(Image).from_select(columns, rows))
    await db.flush()
