"""What the logbook checks in SQL: the session an entry goes into, and that its linked objects belong there."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from relational.models import BLSample, BLSession, Crystal, DataCollection, DataCollectionGroup, Protein
from relational.read_sessions import ReadSession


@dataclass(frozen=True)
class Place:
    """Where a session's entries belong."""

    sessionId: int
    proposalId: int
    beamLineName: str | None


async def session_place(db: ReadSession, session_id: int) -> Place | None:
    """The session's proposal and beamline (None: no such session; callers check its reach)."""
    query = select(BLSession.proposalId, BLSession.beamLineName).where(BLSession.sessionId == session_id)
    row = (await db.execute(query)).first()
    return None if row is None else Place(session_id, int(row[0]), row[1])


async def session_end(db: ReadSession, session_id: int) -> datetime | None:
    """When the session ended (naive, as SQL keeps it; None: it has no end, or no such session)."""
    query = select(BLSession.endDate).where(BLSession.sessionId == session_id)
    return (await db.execute(query)).scalar_one_or_none()


async def collection_in_session(db: ReadSession, dc_id: int, session_id: int) -> bool:
    query = (
        select(DataCollection.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .where(DataCollection.dataCollectionId == dc_id, DataCollectionGroup.sessionId == session_id)
    )
    return (await db.execute(query)).first() is not None


async def sample_of_proposal(db: ReadSession, sample_id: int, proposal_id: int) -> bool:
    query = (
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .where(BLSample.blSampleId == sample_id, Protein.proposalId == proposal_id)
    )
    return (await db.execute(query)).first() is not None


async def has_sessions_on(db: ReadSession, beamline: str) -> bool:
    """Whether any session was ever held on ``beamline``."""
    query = select(BLSession.sessionId).where(BLSession.beamLineName == beamline).limit(1)
    return (await db.execute(query)).first() is not None
