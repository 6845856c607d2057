"""Samples, their proteins and the proposal's lab contacts."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.deps import IdentityDep, PageDep, ReadSessionDep, SchemaDep, WriteSessionDep
from app.routers.proposals import PROPOSAL_PATTERN
from app.routers.sessions import MAX_ID
from relational import labcontacts, samples
from relational.common import Page
from schemas.common import Paged
from schemas.errors import NotFound
from schemas.samples import (
    LabContact,
    LabContactCreate,
    Protein,
    ProteinCreate,
    Sample,
    SampleCreate,
    SampleStatus,
    SampleUpdate,
)

router = APIRouter(prefix="/samples", tags=["Samples"])
proteins = APIRouter(prefix="/proteins", tags=["Samples"])
contacts = APIRouter(prefix="/labcontacts", tags=["Lab contacts"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ProposalName = Annotated[str | None, Query(pattern=PROPOSAL_PATTERN, max_length=60)]
Search = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get("", response_model=Paged[Sample])
async def get_samples(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    proposal: ProposalName = None,
    containerId: FilterId = None,
    proteinId: FilterId = None,
    search: Search = None,
    status: SampleStatus | None = None,
) -> dict[str, object]:
    """Samples the caller may see, newest first."""
    total, rows = await samples.get_samples(
        db,
        identity.scope,
        page,
        proposal=proposal,
        containerId=containerId,
        proteinId=proteinId,
        search=search,
        status=status,
    )
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


async def _sample(db: ReadSessionDep, identity: IdentityDep, sample_id: int) -> dict[str, object]:
    _, rows = await samples.get_samples(db, identity.scope, Page(0, 1), blSampleId=sample_id)
    if not rows:
        raise NotFound(f"Sample {sample_id} not found")
    return rows[0]


@router.get("/{blSampleId}", response_model=Sample, responses={404: {}})
async def get_sample(blSampleId: Id, identity: IdentityDep, db: ReadSessionDep) -> dict[str, object]:
    """One sample."""
    return await _sample(db, identity, blSampleId)


@router.post("", response_model=Sample, status_code=status.HTTP_201_CREATED, responses={404: {}, 409: {}})
async def create_sample(
    data: SampleCreate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """A new sample with its own crystal, at a free position of a container, with an optional protocol."""
    new_id = await samples.create_sample(db, identity.scope, data, schema.experiment_kinds)
    return await _sample(db, identity, new_id)


@router.patch("/{blSampleId}", response_model=Sample, responses={404: {}, 409: {}})
async def update_sample(
    blSampleId: Id, patch: SampleUpdate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """Change some fields; moving it checks the new position; a protocol replaces the old one."""
    await samples.update_sample(db, identity.scope, blSampleId, patch, schema.experiment_kinds)
    return await _sample(db, identity, blSampleId)


@proteins.get("", response_model=Paged[Protein])
async def get_proteins(
    identity: IdentityDep, db: ReadSessionDep, page: PageDep, proposal: ProposalName = None, search: Search = None
) -> dict[str, object]:
    """Proteins the caller may see, newest first."""
    total, rows = await samples.get_proteins(db, identity.scope, page, proposal=proposal, search=search)
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


@proteins.get("/{proteinId}", response_model=Protein, responses={404: {}})
async def get_protein(proteinId: Id, identity: IdentityDep, db: ReadSessionDep) -> dict[str, object]:
    """One protein."""
    _, rows = await samples.get_proteins(db, identity.scope, Page(0, 1), proteinId=proteinId)
    if not rows:
        raise NotFound(f"Protein {proteinId} not found")
    return rows[0]


@proteins.post("", response_model=Protein, status_code=status.HTTP_201_CREATED, responses={404: {}, 409: {}})
async def create_protein(data: ProteinCreate, identity: IdentityDep, db: WriteSessionDep) -> dict[str, object]:
    """A new protein; its acronym is unique within the proposal."""
    new_id = await samples.create_protein(db, identity.scope, data, identity.personId)
    return (await samples.get_proteins(db, identity.scope, Page(0, 1), proteinId=new_id))[1][0]


@contacts.get("", response_model=Paged[LabContact])
async def get_labcontacts(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, page: PageDep, proposal: ProposalName = None
) -> dict[str, object]:
    """Lab contacts the caller may see, with their person and laboratory."""
    total, rows = await labcontacts.get_labcontacts(db, identity.scope, schema, page, proposal=proposal)
    return {"total": total, "results": rows, "skip": page.skip, "limit": page.limit}


@contacts.get("/{labContactId}", response_model=LabContact, responses={404: {}})
async def get_labcontact(
    labContactId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """One lab contact."""
    _, rows = await labcontacts.get_labcontacts(db, identity.scope, schema, Page(0, 1), labContactId=labContactId)
    if not rows:
        raise NotFound(f"Lab contact {labContactId} not found")
    return rows[0]


@contacts.post("", response_model=LabContact, status_code=status.HTTP_201_CREATED, responses={404: {}, 409: {}})
async def create_labcontact(
    data: LabContactCreate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """A lab contact for an existing person, or a new one (py-ispyb's shape: ``Person`` with its ``Laboratory``)."""
    new_id = await labcontacts.create_labcontact(db, identity.scope, schema, data)
    return (await labcontacts.get_labcontacts(db, identity.scope, schema, Page(0, 1), labContactId=new_id))[1][0]
