"""The beamline fault reports (``BF_fault``) with their session's beamline and proposal, for
``ispyb-hybrid sync-faults``; read in batches of ascending ``faultId``."""

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from relational.models import BFFault, BLSession
from relational.read_sessions import ReadSession

TABLE = "BF_fault"


async def batches(db: ReadSession, size: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Every fault, ``size`` at a time (keyset pages: each batch is a short query of its own)."""
    query = (
        select(
            BFFault.faultId,
            BFFault.sessionId,
            BLSession.proposalId,
            BLSession.beamLineName,
            BLSession.startDate.label("sessionStart"),
            BFFault.starttime,
            BFFault.endtime,
            BFFault.title,
            BFFault.description,
            BFFault.resolved,
            BFFault.resolution,
            BFFault.beamtimelost,
            BFFault.owner,
            BFFault.assignee,
        )
        .join(BLSession, BLSession.sessionId == BFFault.sessionId)
        .order_by(BFFault.faultId)
        .limit(size)
    )
    last = 0
    while rows := [dict(r) for r in (await db.execute(query.where(BFFault.faultId > last))).mappings()]:
        yield rows
        last = rows[-1]["faultId"]
