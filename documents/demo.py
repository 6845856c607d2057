"""Demo metrics for the embedded default's dashboard: Cryo-EM movies (motion, CTF, ice, particles) and SAXS
measurements (Guinier, GNOM, Porod) for the demo's collections; MX scaling comes from SQL (sync-sql-metrics)."""

import random
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from documents import metrics, rollups
from schemas.times import as_utc, utc_now

MOVIES_PER_COLLECTION = 300


def _when(start: Any, seconds: float) -> datetime:
    base = as_utc(start) if isinstance(start, datetime) else utc_now()
    return base + timedelta(seconds=seconds)


def _em(dc: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    docs = []
    for movie in range(1, MOVIES_PER_COLLECTION + 1):
        at = _when(dc["startTime"], movie * 9)
        median = rng.uniform(0.8, 1.4)
        ice = {"minimum": -0.3, "q1": -0.1, "median": 0.0, "q3": 0.1, "maximum": 0.4}
        values = {
            "em.motioncorrection": {
                "imageNumber": movie,
                "totalMotion": round(rng.gammavariate(3, 4), 2),
                "averageMotionPerFrame": round(rng.uniform(0.2, 1.5), 3),
                "dosePerFrame": 1.1,
            },
            "em.ctf": {
                "imageNumber": movie,
                "estimatedResolution": round(rng.uniform(2.6, 7.5), 2),
                "defocusU": round(rng.uniform(8e3, 2.5e4)),
                "defocusV": round(rng.uniform(8e3, 2.5e4)),
                "astigmatism": round(rng.uniform(0, 400)),
                "crossCorrelation": round(rng.uniform(0.05, 0.35), 3),
            },
            "em.icethickness": {"imageNumber": movie} | {k: round(median + d, 3) for k, d in ice.items()},
            "em.particlepicking": {
                "imageNumber": movie,
                "numberOfParticles": max(0, int(rng.gauss(160, 45))),
                "particleDiameter": 12.0,
            },
        }
        docs += [_doc(kind, dc, v, at) for kind, v in values.items()]
    return docs


def _saxs(dc: dict[str, Any], rng: random.Random, n: int) -> list[dict[str, Any]]:
    rg = rng.uniform(2.0, 4.5)
    at = _when(dc["startTime"], 60)
    return [
        _doc("saxs.guinier", dc, {"rg": round(rg, 3), "rgStdev": 0.02, "i0": round(rng.uniform(20, 90), 2),
                                  "i0Stdev": 0.3, "firstPoint": 12, "lastPoint": 60 + n, "quality": 0.9}, at),
        _doc("saxs.gnom", dc, {"rg": round(rg * 1.01, 3), "total": 0.85, "dMax": round(rg * 3.1, 2)}, at),
        _doc("saxs.porod", dc, {"volume": round(rg**3 * 9, 1), "mwPorod": round(rg**3 * 5.4, 1)}, at),
        _doc("saxs.frames", dc, {"framesMerged": 9, "framesTotal": 10}, at),
    ]  # fmt: skip


def _doc(kind: str, dc: dict[str, Any], values: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "dataCollectionId": dc["dataCollectionId"],
        "proposalId": dc["proposalId"],
        "sessionId": dc["sessionId"],
        "values": values,
        "source": "demo",
        "createdAt": at,
    }


async def seed(db: AsyncDatabase[dict[str, Any]], collections: dict[str, list[dict[str, Any]]], seed: int = 7) -> int:
    """Store the demo metrics (and their rollups); the number stored."""
    rng = random.Random(seed)
    docs = [d for dc in collections["em"] for d in _em(dc, rng)]
    docs += [d for i, dc in enumerate(collections["saxs"]) for d in _saxs(dc, rng, i)]
    stored = 0
    for i in range(0, len(docs), 2000):
        batch = docs[i : i + 2000]
        count, _, _ = await metrics.insert(db, batch)
        await rollups.add(db, batch)
        stored += count
    return stored
