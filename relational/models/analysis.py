"""What hangs off a data collection besides auto-processing: its file attachments, per-image quality indicators and
screening (characterisation) results with their strategies."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class DataCollectionFileAttachment(Base):
    __tablename__ = "DataCollectionFileAttachment"

    dataCollectionFileAttachmentId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionId: Mapped[int] = mapped_column(ForeignKey("DataCollection.dataCollectionId"))
    fileFullPath: Mapped[str]
    fileType: Mapped[str | None]
    createTime: Mapped[datetime | None]


class ImageQualityIndicators(Base):
    """One row per image (the official flavour adds a surrogate key, Diamond's keys on collection and image)."""

    __tablename__ = "ImageQualityIndicators"

    dataCollectionId: Mapped[int] = mapped_column(ForeignKey("DataCollection.dataCollectionId"), primary_key=True)
    imageNumber: Mapped[int] = mapped_column(primary_key=True)
    autoProcProgramId: Mapped[int | None]
    spotTotal: Mapped[int | None]
    goodBraggCandidates: Mapped[int | None]
    method1Res: Mapped[float | None]
    method2Res: Mapped[float | None]
    totalIntegratedSignal: Mapped[float | None]
    dozor_score: Mapped[float | None]
    recordTimeStamp: Mapped[datetime | None]


class Screening(Base):
    __tablename__ = "Screening"

    screeningId: Mapped[int] = mapped_column(primary_key=True)
    dataCollectionId: Mapped[int | None] = mapped_column(ForeignKey("DataCollection.dataCollectionId"))
    dataCollectionGroupId: Mapped[int | None]
    programVersion: Mapped[str | None]
    comments: Mapped[str | None]
    shortComments: Mapped[str | None]
    bltimeStamp: Mapped[datetime | None]


class ScreeningOutput(Base):
    __tablename__ = "ScreeningOutput"

    screeningOutputId: Mapped[int] = mapped_column(primary_key=True)
    screeningId: Mapped[int] = mapped_column(ForeignKey("Screening.screeningId"))
    statusDescription: Mapped[str | None]
    indexingSuccess: Mapped[int] = mapped_column(default=0)
    strategySuccess: Mapped[int] = mapped_column(default=0)
    mosaicity: Mapped[float | None]
    rankingResolution: Mapped[float | None]
    program: Mapped[str | None]


class ScreeningOutputLattice(Base):
    __tablename__ = "ScreeningOutputLattice"

    screeningOutputLatticeId: Mapped[int] = mapped_column(primary_key=True)
    screeningOutputId: Mapped[int] = mapped_column(ForeignKey("ScreeningOutput.screeningOutputId"))
    spaceGroup: Mapped[str | None]
    pointGroup: Mapped[str | None]
    unitCell_a: Mapped[float | None]
    unitCell_b: Mapped[float | None]
    unitCell_c: Mapped[float | None]
    unitCell_alpha: Mapped[float | None]
    unitCell_beta: Mapped[float | None]
    unitCell_gamma: Mapped[float | None]


class ScreeningStrategy(Base):
    __tablename__ = "ScreeningStrategy"

    screeningStrategyId: Mapped[int] = mapped_column(primary_key=True)
    screeningOutputId: Mapped[int] = mapped_column(ForeignKey("ScreeningOutput.screeningOutputId"))
    program: Mapped[str | None]
    rankingResolution: Mapped[float | None]


class ScreeningStrategyWedge(Base):
    __tablename__ = "ScreeningStrategyWedge"

    screeningStrategyWedgeId: Mapped[int] = mapped_column(primary_key=True)
    screeningStrategyId: Mapped[int | None] = mapped_column(ForeignKey("ScreeningStrategy.screeningStrategyId"))
    wedgeNumber: Mapped[int | None]
    resolution: Mapped[float | None]
    completeness: Mapped[float | None]
    multiplicity: Mapped[float | None]
    doseTotal: Mapped[float | None]
    numberOfImages: Mapped[int | None]
    phi: Mapped[float | None]
    kappa: Mapped[float | None]
    chi: Mapped[float | None]
    comments: Mapped[str | None]
    wavelength: Mapped[float | None]


class ScreeningStrategySubWedge(Base):
    __tablename__ = "ScreeningStrategySubWedge"

    screeningStrategySubWedgeId: Mapped[int] = mapped_column(primary_key=True)
    screeningStrategyWedgeId: Mapped[int | None] = mapped_column(
        ForeignKey("ScreeningStrategyWedge.screeningStrategyWedgeId")
    )
    subWedgeNumber: Mapped[int | None]
    rotationAxis: Mapped[str | None]
    axisStart: Mapped[float | None]
    axisEnd: Mapped[float | None]
    exposureTime: Mapped[float | None]
    transmission: Mapped[float | None]
    oscillationRange: Mapped[float | None]
    completeness: Mapped[float | None]
    multiplicity: Mapped[float | None]
    #: `resolution` (official) or `RESOLUTION` (Diamond): MariaDB's column names ignore case
    RESOLUTION: Mapped[float | None] = mapped_column("resolution")
    doseTotal: Mapped[float | None]
    numberOfImages: Mapped[int | None]
    comments: Mapped[str | None]
