"""Proposals."""

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from app.deps import IdentityDep, PageDep, ReadSessionDep, StateDep
from app.services import exports
from relational import proposals
from relational.common import Page
from schemas.common import Paged
from schemas.errors import NotFound
from schemas.proposals import Proposal

router = APIRouter(prefix="/proposals", tags=["Proposals"])
PROPOSAL_PATTERN = r"^[\w-]+\d+$"


@router.get("", response_model=Paged[Proposal])
async def get_proposals(
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    page: PageDep,
    search: Annotated[str | None, Query(max_length=100, description="Title, name or beamline")] = None,
) -> dict[str, object]:
    """Proposals the caller may see."""
    total, rows = await proposals.get_proposals(
        db, identity.scope, page, search=search, groups=state.settings.beamline_groups
    )
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


@router.get("/{proposal}", response_model=Proposal, responses={404: {"description": "No such proposal"}})
async def get_proposal(
    proposal: Annotated[str, Path(pattern=PROPOSAL_PATTERN, max_length=60, description="e.g. MX1")],
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
) -> dict[str, object]:
    """One proposal by name."""
    _, rows = await proposals.get_proposals(
        db, identity.scope, Page(0, 1), proposal=proposal, groups=state.settings.beamline_groups
    )
    if not rows:
        raise NotFound(f"Proposal `{proposal}` not found")
    return rows[0]


@router.get(
    "/{proposal}/results", response_class=StreamingResponse, responses={404: {"description": "No such proposal"}}
)
async def export_results(
    proposal: Annotated[str, Path(pattern=PROPOSAL_PATTERN, max_length=60, description="e.g. MX1")],
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    format: exports.ExportFormat = exports.ExportFormat.csv,
) -> StreamingResponse:
    """Per sample and data collection of the proposal: the best MX statistics and the latest result of each kind."""
    rows = exports.export_rows(db, state.documents, identity, proposal=proposal)
    return await exports.export_response(rows, format, f"{proposal}-results")
