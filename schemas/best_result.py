"""EXI's rule for the best MX processing of a data collection, over SQL auto-processing and document results.

1. Candidates whose inner-shell R-merge is at most 10 % (R-merge given as a fraction or as a percentage);
   if none qualifies, every candidate, and the reason says so.
2. Among those, the highest symmetry: the highest space-group number (International Tables).
3. Then the best (lowest) overall high-resolution limit.
"""

import re
from typing import Any

from pydantic import BaseModel, Field

RMERGE_CUT = 0.10
#: the 65 space groups a chiral crystal can take (International Tables numbers); others rank below them
SOHNCKE = {
    "P1": 1, "P2": 3, "P21": 4, "C2": 5, "P222": 16, "P2221": 17, "P21212": 18, "P212121": 19, "C2221": 20,
    "C222": 21, "F222": 22, "I222": 23, "I212121": 24, "P4": 75, "P41": 76, "P42": 77, "P43": 78, "I4": 79,
    "I41": 80, "P422": 89, "P4212": 90, "P4122": 91, "P41212": 92, "P4222": 93, "P42212": 94, "P4322": 95,
    "P43212": 96, "I422": 97, "I4122": 98, "P3": 143, "P31": 144, "P32": 145, "R3": 146, "H3": 146, "P312": 149,
    "P321": 150, "P3112": 151, "P3121": 152, "P3212": 153, "P3221": 154, "R32": 155, "H32": 155, "P6": 168,
    "P61": 169, "P65": 170, "P62": 171, "P64": 172, "P63": 173, "P622": 177, "P6122": 178, "P6522": 179,
    "P6222": 180, "P6422": 181, "P6322": 182, "P23": 195, "F23": 196, "I23": 197, "P213": 198, "I213": 199,
    "P432": 207, "P4232": 208, "F432": 209, "F4132": 210, "I432": 211, "P4332": 212, "P4132": 213, "I4132": 214,
}  # fmt: skip


def space_group_number(symbol: str | None) -> int:
    """The International Tables number of a Hermann–Mauguin symbol (`P 21 21 21`, `P 1 21 1`, `C2`); 0 if unknown."""
    if not symbol:
        return 0
    compact = re.sub(r"\s+", "", symbol).upper().replace("H3", "R3")
    if compact in SOHNCKE:
        return SOHNCKE[compact]
    monoclinic = re.fullmatch(r"([PC])1(21|2)1", compact)  # full monoclinic symbols
    return SOHNCKE.get(f"{monoclinic[1]}{monoclinic[2]}", 0) if monoclinic else 0


class Candidate(BaseModel):
    source: str = Field(description="`sql` (AutoProcProgram) or `document` (a result)")
    id: str = Field(description="autoProcProgramId or resultId")
    program: str | None
    spaceGroup: str | None
    spaceGroupNumber: int
    innerShellRMerge: float | None
    resolution: float | None = Field(description="Overall high-resolution limit, Å")


class BestResult(BaseModel):
    dataCollectionId: int
    best: Candidate | None
    reason: str
    candidates: list[Candidate]


def _fraction(r_merge: float | None) -> float | None:
    return None if r_merge is None else r_merge / 100 if r_merge > 1 else r_merge


def choose(dc_id: int, candidates: list[Candidate]) -> BestResult:
    """The best candidate by the rule above, with the reason in words."""
    if not candidates:
        return BestResult(dataCollectionId=dc_id, best=None, reason="no MX processing", candidates=[])
    good = [c for c in candidates if (r := _fraction(c.innerShellRMerge)) is not None and r <= RMERGE_CUT]
    pool = good or candidates
    best = max(pool, key=lambda c: (c.spaceGroupNumber, -(c.resolution if c.resolution is not None else 1e9)))
    steps = [
        f"{len(good)} of {len(candidates)} candidate(s) have an inner-shell R-merge of at most 10 %"
        if good
        else f"none of {len(candidates)} candidate(s) has an inner-shell R-merge of at most 10 %, so all are compared",
        f"highest symmetry: {best.spaceGroup} (No. {best.spaceGroupNumber})",
    ]
    same = [c for c in pool if c.spaceGroupNumber == best.spaceGroupNumber]
    if len(same) > 1:
        steps.append(f"best resolution among {len(same)} in that space group: {best.resolution} Å")
    return BestResult(dataCollectionId=dc_id, best=best, reason="; ".join(steps), candidates=candidates)


def _number(value: object) -> float | None:
    """A JSON number as is; anything else (booleans included) as None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def from_document(doc: dict[str, Any]) -> Candidate:
    """A document result as a candidate: `data.spaceGroup`, `data.innerShell.rMerge`, and
    `data.overall.resolutionLimitHigh` (or `data.resolution`)."""
    data = doc.get("data") or {}
    inner, overall = data.get("innerShell") or {}, data.get("overall") or {}
    resolution = overall.get("resolutionLimitHigh", data.get("resolution"))
    return Candidate(
        source="document",
        id=doc["resultId"],
        program=(doc.get("program") or {}).get("name"),
        spaceGroup=data.get("spaceGroup") if isinstance(data.get("spaceGroup"), str) else None,
        spaceGroupNumber=space_group_number(
            data.get("spaceGroup") if isinstance(data.get("spaceGroup"), str) else None
        ),
        innerShellRMerge=_number(inner.get("rMerge")),
        resolution=_number(resolution),
    )
