"""Samples, the crystals they are and the proteins those are of, and the desired diffraction plan."""

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from relational.models.base import Base


class Protein(Base):
    __tablename__ = "Protein"

    proteinId: Mapped[int] = mapped_column(primary_key=True)
    proposalId: Mapped[int] = mapped_column(ForeignKey("Proposal.proposalId"))
    name: Mapped[str | None]
    acronym: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    safetyLevel: Mapped[str | None]
    molecularMass: Mapped[float | None]
    proteinType: Mapped[str | None]
    sequence: Mapped[str | None] = mapped_column(Text)
    personId: Mapped[int | None] = mapped_column(ForeignKey("Person.personId"))
    isCreatedBySampleSheet: Mapped[bool | None]


class DiffractionPlan(Base):
    __tablename__ = "DiffractionPlan"

    diffractionPlanId: Mapped[int] = mapped_column(primary_key=True)
    experimentKind: Mapped[str | None]
    observedResolution: Mapped[float | None]
    minimalResolution: Mapped[float | None]
    exposureTime: Mapped[float | None]
    oscillationRange: Mapped[float | None]
    maximalResolution: Mapped[float | None]
    screeningResolution: Mapped[float | None]
    radiationSensitivity: Mapped[float | None]
    anomalousScatterer: Mapped[str | None]
    preferredBeamSizeX: Mapped[float | None]
    preferredBeamSizeY: Mapped[float | None]
    comments: Mapped[str | None]
    aimedCompleteness: Mapped[float | None]
    aimedIOverSigmaAtHighestRes: Mapped[float | None]
    aimedMultiplicity: Mapped[float | None]
    aimedResolution: Mapped[float | None]
    anomalousData: Mapped[bool | None]
    complexity: Mapped[str | None]
    estimateRadiationDamage: Mapped[bool | None]
    forcedSpaceGroup: Mapped[str | None]
    requiredCompleteness: Mapped[float | None]
    requiredMultiplicity: Mapped[float | None]
    requiredResolution: Mapped[float | None]
    strategyOption: Mapped[str | None]
    kappaStrategyOption: Mapped[str | None]
    numberOfPositions: Mapped[int | None]
    minDimAccrossSpindleAxis: Mapped[float | None]
    maxDimAccrossSpindleAxis: Mapped[float | None]
    radiationSensitivityBeta: Mapped[float | None]
    radiationSensitivityGamma: Mapped[float | None]
    minOscWidth: Mapped[float | None]


class Crystal(Base):
    __tablename__ = "Crystal"

    crystalId: Mapped[int] = mapped_column(primary_key=True)
    diffractionPlanId: Mapped[int | None] = mapped_column(ForeignKey("DiffractionPlan.diffractionPlanId"))
    proteinId: Mapped[int] = mapped_column(ForeignKey("Protein.proteinId"))
    name: Mapped[str | None]
    spaceGroup: Mapped[str | None]
    morphology: Mapped[str | None]
    color: Mapped[str | None]
    size_X: Mapped[float | None]
    size_Y: Mapped[float | None]
    size_Z: Mapped[float | None]
    cell_a: Mapped[float | None]
    cell_b: Mapped[float | None]
    cell_c: Mapped[float | None]
    cell_alpha: Mapped[float | None]
    cell_beta: Mapped[float | None]
    cell_gamma: Mapped[float | None]
    comments: Mapped[str | None]


class BLSample(Base):
    __tablename__ = "BLSample"

    blSampleId: Mapped[int] = mapped_column(primary_key=True)
    diffractionPlanId: Mapped[int | None] = mapped_column(ForeignKey("DiffractionPlan.diffractionPlanId"))
    crystalId: Mapped[int | None] = mapped_column(ForeignKey("Crystal.crystalId"))
    containerId: Mapped[int | None] = mapped_column(ForeignKey("Container.containerId"))
    name: Mapped[str | None]
    code: Mapped[str | None]
    location: Mapped[str | None]
    holderLength: Mapped[float | None]
    loopLength: Mapped[float | None]
    loopType: Mapped[str | None]
    wireWidth: Mapped[float | None]
    comments: Mapped[str | None]
    completionStage: Mapped[str | None]
    structureStage: Mapped[str | None]
    blSampleStatus: Mapped[str | None]
    isInSampleChanger: Mapped[bool | None]
    lastKnownCenteringPosition: Mapped[str | None]
    SMILES: Mapped[str | None]
    volume: Mapped[float | None]
    subLocation: Mapped[int | None]
