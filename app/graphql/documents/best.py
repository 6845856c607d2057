"""BestResult: EXI's choice of the best MX processing of a data collection, among SQL auto-processing and document
results, as ``GET /datacollections/{id}/best-result`` answers it (``schemas/best_result.py``)."""

from typing import Self

import strawberry

from schemas import best_result


@strawberry.type(description="A processing that may be the best: SQL auto-processing or a document result")
class BestCandidate:
    source: str = strawberry.field(description="`sql` (AutoProcProgram) or `document` (a result)")
    id: str = strawberry.field(description="autoProcProgramId or resultId")
    program: str | None
    spaceGroup: str | None
    spaceGroupNumber: int
    innerShellRMerge: float | None
    resolution: float | None = strawberry.field(description="Overall high-resolution limit, Å")

    @classmethod
    def of(cls, candidate: best_result.Candidate) -> Self:
        return cls(**candidate.model_dump())


@strawberry.type(description="Inner-shell R-merge at most 10 %, then the highest symmetry, then the best resolution")
class BestResult:
    dataCollectionId: int
    best: BestCandidate | None
    reason: str
    candidates: list[BestCandidate]

    @classmethod
    def of(cls, found: best_result.BestResult) -> Self:
        best = BestCandidate.of(found.best) if found.best else None
        candidates = [BestCandidate.of(c) for c in found.candidates]
        return cls(dataCollectionId=found.dataCollectionId, best=best, reason=found.reason, candidates=candidates)
