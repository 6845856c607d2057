"""Proposals."""

from typing import Annotated

from fastapi import Query
from fastapi.responses import StreamingResponse

from app.deps import DocumentsDep, IdentityDep, PageDep, ReadSessionDep, StateDep, StreamingReadSessionDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import IdFilter, ProposalName
from app.routers.routing import Router
from app.routers.valid import ProposalDep
from app.services import exports
from relational import proposals
from schemas.common import Paged
from schemas.errors import NotFound
from schemas.proposals import Proposal

router = Router(prefix="/proposals", tags=["Proposals"], responses=responses(*AUTHENTICATED))


@router.get("", response_model=Paged[Proposal])
async def get_proposals(
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    page: PageDep,
    search: Annotated[
        str | None, Query(max_length=100, description="Title, name or beamline; the proposal of that name first")
    ] = None,
    proposalId: IdFilter = None,
) -> dict[str, object]:
    """Proposals the caller may see."""
    total, rows = await proposals.get_proposals(
        db, identity.scope, page, search=search, proposal_id=proposalId, groups=state.settings.beamline_groups
    )
    return listed(rows, total, page)


@router.get("/{proposal}", response_model=Proposal, responses=responses(NotFound))
async def get_proposal(proposal: ProposalDep) -> dict[str, object]:
    """One proposal by name."""
    return proposal


@router.get("/{proposal}/results", response_class=StreamingResponse, responses=responses(NotFound, *DOCUMENT_STORE))
async def export_results(
    proposal: ProposalName,
    identity: IdentityDep,
    db: StreamingReadSessionDep,
    documents: DocumentsDep,
    format: exports.ExportFormat = exports.ExportFormat.csv,
) -> StreamingResponse:
    """Per sample and data collection of the proposal: the best MX statistics and the latest result of each kind."""
    rows = exports.export_rows(db, documents, identity, proposal=proposal)
    return await exports.export_response(rows, format, f"{proposal}-results")
