"""Each data collection's best auto-processing: the lowest overall high-resolution limit and how many programs
integrated it (sessions' overviews, statistics), and each program's candidate result (exports' best results)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from relational.models import (
    AutoProc,
    AutoProcIntegration,
    AutoProcProgram,
    AutoProcScaling,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
)
from relational.read_sessions import ReadSession


def best_per_collection() -> Any:
    """Subquery per data collection: ``dc``, the lowest overall high-resolution limit of its auto-processing
    (``resolution``) and how many programs integrated it (``programs``)."""
    return (
        select(
            AutoProcIntegration.dataCollectionId.label("dc"),
            func.min(AutoProcScalingStatistics.resolutionLimitHigh).label("resolution"),
            func.count(func.distinct(AutoProcIntegration.autoProcProgramId)).label("programs"),
        )
        .join(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcIntegrationId == AutoProcIntegration.autoProcIntegrationId,
        )
        .join(
            AutoProcScalingStatistics,
            AutoProcScalingStatistics.autoProcScalingId == AutoProcScalingHasInt.autoProcScalingId,
        )
        .where(AutoProcScalingStatistics.scalingStatisticsType == "overall")
        .group_by(AutoProcIntegration.dataCollectionId)
        .subquery()
    )


async def mx_candidates(db: ReadSession, dc_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Per data collection (callers have scoped ``dc_ids``): each program that integrated it, with its space
    group, inner-shell R-merge and overall high-resolution limit."""
    if not dc_ids:
        return {}
    shells = (
        select(
            AutoProcIntegration.dataCollectionId.label("dc"),
            AutoProcProgram.autoProcProgramId.label("program_id"),
            AutoProcProgram.processingPrograms.label("program"),
            AutoProc.spaceGroup,
            AutoProcScalingStatistics.scalingStatisticsType.label("shell"),
            AutoProcScalingStatistics.rMerge,
            AutoProcScalingStatistics.resolutionLimitHigh,
        )
        .join(AutoProcProgram, AutoProcProgram.autoProcProgramId == AutoProcIntegration.autoProcProgramId)
        .join(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcIntegrationId == AutoProcIntegration.autoProcIntegrationId,
        )
        .join(AutoProcScaling, AutoProcScaling.autoProcScalingId == AutoProcScalingHasInt.autoProcScalingId)
        .outerjoin(AutoProc, AutoProc.autoProcId == AutoProcScaling.autoProcId)
        .join(
            AutoProcScalingStatistics,
            AutoProcScalingStatistics.autoProcScalingId == AutoProcScaling.autoProcScalingId,
        )
        .where(AutoProcIntegration.dataCollectionId.in_(dc_ids))
    )
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for r in (await db.execute(shells)).mappings():
        entry = found.setdefault(
            (r["dc"], r["program_id"]),
            {"program_id": r["program_id"], "program": r["program"], "spaceGroup": r["spaceGroup"],
             "innerShellRMerge": None, "resolution": None},
        )  # fmt: skip
        if r["shell"] == "innerShell":
            entry["innerShellRMerge"] = r["rMerge"]
        elif r["shell"] == "overall":
            entry["resolution"] = r["resolutionLimitHigh"]
    out: dict[int, list[dict[str, Any]]] = {}
    for (dc, _), entry in sorted(found.items()):
        out.setdefault(dc, []).append(entry)
    return out
