"""``ispyb-hybrid sync-sql-metrics`` on both flavours: scaling statistics and the flavour's own Cryo-EM tables
become metric documents, once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Flavour
from tests.factories import insert
from tests.test_shipping import Caller

CLI = str(Path(sys.executable).parent / "ispyb-hybrid")


async def _add_em(db: AsyncSession, flavour: str, dc: int) -> None:
    """One movie's motion correction, CTF and particle picking, in each flavour's own columns."""
    if flavour == "dls":
        mc = await insert(
            db, "INSERT INTO MotionCorrection (dataCollectionId, imageNumber, totalMotion) VALUES (:dc, 7, 12.5)", dc=dc
        )
        ctf = "INSERT INTO CTF (motionCorrectionId, estimatedResolution, ccValue) VALUES (:mc, 3.2, 0.25)"
    else:
        movie = await insert(db, "INSERT INTO Movie (dataCollectionId, movieNumber) VALUES (:dc, 7)", dc=dc)
        mc = await insert(
            db, "INSERT INTO MotionCorrection (movieId, totalMotion) VALUES (:movie, '12.5')", movie=movie
        )
        ctf = (
            "INSERT INTO CTF (motionCorrectionId, resolutionLimit, crossCorrelationCoefficient)"
            " VALUES (:mc, '3.2', '0.25')"
        )
    await db.execute(text(ctf), {"mc": mc})
    await db.execute(
        text("INSERT INTO ParticlePicker (firstMotionCorrectionId, numberOfParticles) VALUES (:mc, 420)"),
        {"mc": mc},
    )


@pytest.mark.commits  # the command line's own process reads committed rows only
def test_sql_metrics_are_copied_once(flavour: Flavour, mongo_url: str) -> None:
    dc = flavour.data.dcs["b0"]
    flavour.run(_add_em, flavour.name, dc)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": flavour.url,
        "ISPYB_MONGO_URL": mongo_url,
        "ISPYB_MONGO_DB": flavour.settings.mongo_db,
    }
    runs = [
        subprocess.run([CLI, "sync-sql-metrics"], env=env, capture_output=True, text=True, timeout=120) for _ in "ab"
    ]
    first, second = (json.loads(r.stdout[r.stdout.index("{") :]) for r in runs)
    assert first["added"] >= 6 and first["refused"] == 0, runs[0].stdout + runs[0].stderr
    assert second["added"] == 0 and second["already there"] == first["read"]
    sci_b = Caller(flavour, "sci_b")
    shells = sci_b("GET", "/metrics", 200, params={"dataCollectionId": dc, "kind": "mx.scaling"})["results"]
    assert sorted(m["values"]["shell"] for m in shells) == ["innerShell", "outerShell", "overall"]
    assert {m["values"]["resolutionLimitHigh"] for m in shells} == {1.8, 5.4}
    em = {
        m["kind"]: m["values"]
        for m in sci_b("GET", "/metrics", 200, params={"dataCollectionId": dc, "limit": 10000})["results"]
    }
    assert em["em.motioncorrection"] == {"imageNumber": 7, "totalMotion": 12.5}
    assert em["em.ctf"] == {"imageNumber": 7, "estimatedResolution": 3.2, "crossCorrelation": 0.25}
    assert em["em.particlepicking"] == {"imageNumber": 7, "numberOfParticles": 420}
