"""Samples, their proteins and the proposal's lab contacts."""

from typing import Annotated

from fastapi import Query, Request, Response, status

from app.deps import MAX_LIMIT, IdentityDep, PageDep, ReadSessionDep, SchemaDep, WriteSessionDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import Id, IdFilter, ProposalFilter
from app.routers.routing import Router
from app.routers.valid import LabContactDep, ProteinDep, SampleDep, labcontact_of, protein_of, sample_of
from relational import labcontacts, sample_edits, samples, subsamples
from relational.common import Page
from schemas.common import Paged
from schemas.errors import Conflict, InvalidInput, NotFound
from schemas.samples import (
    LabContact,
    LabContactCreate,
    LabContactUpdate,
    Protein,
    ProteinCreate,
    ProteinUpdate,
    Sample,
    SampleCreate,
    SampleStatus,
    SampleUpdate,
)
from schemas.subsamples import Component, ConcentrationType, SubSample

router = Router(prefix="/samples", tags=["Samples"], responses=responses(*AUTHENTICATED))
proteins = Router(prefix="/proteins", tags=["Samples"], responses=responses(*AUTHENTICATED))
contacts = Router(prefix="/labcontacts", tags=["Lab contacts"], responses=responses(*AUTHENTICATED))
Search = Annotated[str | None, Query(min_length=1, max_length=100)]
WRITE_ERRORS = responses(NotFound, Conflict, InvalidInput)


@router.get("", response_model=Paged[Sample])
async def get_samples(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    request: Request,
    proposal: ProposalFilter = None,
    containerId: IdFilter = None,
    proteinId: IdFilter = None,
    search: Search = None,
    status: SampleStatus | None = None,
    beamLineName: Annotated[
        str | None,
        Query(
            max_length=45,
            description="Samples in containers at this beamline (MXCuBE's list): all of them unless `limit` is given",
        ),
    ] = None,
) -> dict[str, object]:
    """Samples the caller may see, newest first."""
    if beamLineName and "limit" not in request.query_params:
        # MXCuBE reads only the first page and never sends `limit`: a sample changer holds hundreds of samples
        page = Page(page.skip, MAX_LIMIT)
    total, rows = await samples.get_samples(
        db,
        identity.scope,
        page,
        proposal=proposal,
        containerId=containerId,
        proteinId=proteinId,
        search=search,
        status=status,
        beamLineName=beamLineName,
    )
    return listed(rows, total, page)


@router.get("/sub", response_model=Paged[SubSample])
async def get_subsamples(
    identity: IdentityDep,
    db: ReadSessionDep,
    schema: SchemaDep,
    page: PageDep,
    blSampleId: IdFilter = None,
    proteinId: IdFilter = None,
    containerId: IdFilter = None,
    proposal: ProposalFilter = None,
) -> dict[str, object]:
    """Sub samples (points and regions of samples) the caller may see, newest first."""
    total, rows = await subsamples.get_subsamples(
        db,
        identity.scope,
        schema,
        page,
        blSampleId=blSampleId,
        proteinId=proteinId,
        containerId=containerId,
        proposal=proposal,
    )
    return listed(rows, total, page)


@router.get("/sub/{blSubSampleId}", response_model=SubSample, responses=responses(NotFound))
async def get_subsample(
    blSubSampleId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """One sub sample."""
    _, rows = await subsamples.get_subsamples(db, identity.scope, schema, Page(0, 1), blSubSampleId=blSubSampleId)
    return _one(rows, f"Sub sample {blSubSampleId} not found")


@router.get("/components", response_model=Paged[Component])
async def get_components(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, page: PageDep, proposal: ProposalFilter = None
) -> dict[str, object]:
    """Components (what samples and crystals are made of) of the proposals the caller may see, by name."""
    total, rows = await subsamples.get_components(db, identity.scope, schema, page, proposal=proposal)
    return listed(rows, total, page)


@router.get("/components/{componentId}", response_model=Component, responses=responses(NotFound))
async def get_component(
    componentId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """One component."""
    _, rows = await subsamples.get_components(db, identity.scope, schema, Page(0, 1), componentId=componentId)
    return _one(rows, f"Component {componentId} not found")


@router.get("/concentration/types", response_model=list[ConcentrationType])
async def get_concentration_types(db: ReadSessionDep, schema: SchemaDep) -> list[dict[str, object]]:
    """The facility's concentration units (a plain list, as py-ispyb answers it), by name."""
    return await subsamples.get_concentration_types(db, schema)


@router.get(
    "/concentration/types/{concentrationTypeId}", response_model=ConcentrationType, responses=responses(NotFound)
)
async def get_concentration_type(concentrationTypeId: Id, db: ReadSessionDep, schema: SchemaDep) -> dict[str, object]:
    """One concentration unit."""
    rows = await subsamples.get_concentration_types(db, schema, concentrationTypeId)
    return _one(rows, f"Concentration type {concentrationTypeId} not found")


def _one(rows: list[dict[str, object]], missing: str) -> dict[str, object]:
    if not rows:
        raise NotFound(missing)
    return rows[0]


@router.get("/{blSampleId}", response_model=Sample, responses=responses(NotFound))
async def get_sample(sample: SampleDep) -> dict[str, object]:
    """One sample."""
    return sample


@router.post("", response_model=Sample, status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def create_sample(
    data: SampleCreate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """A new sample with its own crystal, at a free position of a container, with an optional protocol."""
    new_id = await samples.create_sample(db, identity.scope, data, schema.experiment_kinds)
    return await sample_of(db, identity, new_id)


@router.patch("/{blSampleId}", response_model=Sample, responses=WRITE_ERRORS)
async def update_sample(
    blSampleId: Id,
    patch: SampleUpdate,
    identity: IdentityDep,
    db: WriteSessionDep,
    schema: SchemaDep,
    response: Response,
) -> dict[str, object]:
    """Change some fields; moving it checks the new position; a protocol replaces the old one. MXCuBE's sample
    dict is accepted: ``blSampleId`` (must be the path's), ``lastKnownCentringPosition``; keys without a column
    are ignored and named in a ``Warning`` header."""
    if patch.blSampleId is not None and patch.blSampleId != blSampleId:
        raise InvalidInput(f"`blSampleId` {patch.blSampleId} in the body is not the path's {blSampleId}")
    report_ignored(response, patch, "PATCH /samples/{blSampleId}")
    await samples.update_sample(db, identity.scope, blSampleId, patch, schema.experiment_kinds)
    return await sample_of(db, identity, blSampleId)


@router.delete("/{blSampleId}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(NotFound, Conflict))
async def delete_sample(blSampleId: Id, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep) -> Response:
    """Delete a sample nothing refers to yet (no data collection, robot action, sub sample…: 409 naming them);
    its crystal and protocol stay."""
    await sample_edits.delete_sample(db, identity.scope, schema, blSampleId)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@proteins.get("", response_model=Paged[Protein])
async def get_proteins(
    identity: IdentityDep, db: ReadSessionDep, page: PageDep, proposal: ProposalFilter = None, search: Search = None
) -> dict[str, object]:
    """Proteins the caller may see, newest first."""
    total, rows = await samples.get_proteins(db, identity.scope, page, proposal=proposal, search=search)
    return listed(rows, total, page)


@proteins.get("/{proteinId}", response_model=Protein, responses=responses(NotFound))
async def get_protein(protein: ProteinDep) -> dict[str, object]:
    """One protein."""
    return protein


@proteins.post("", response_model=Protein, status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def create_protein(data: ProteinCreate, identity: IdentityDep, db: WriteSessionDep) -> dict[str, object]:
    """A new protein; its acronym is unique within the proposal."""
    return await protein_of(db, identity, await samples.create_protein(db, identity.scope, data, identity.personId))


@proteins.patch("/{proteinId}", response_model=Protein, responses=WRITE_ERRORS)
async def update_protein(
    proteinId: Id, patch: ProteinUpdate, identity: IdentityDep, db: WriteSessionDep
) -> dict[str, object]:
    """Change some fields of a protein; its acronym stays unique within the proposal."""
    await sample_edits.update_protein(db, identity.scope, proteinId, patch)
    return await protein_of(db, identity, proteinId)


@contacts.get("", response_model=Paged[LabContact])
async def get_labcontacts(
    identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, page: PageDep, proposal: ProposalFilter = None
) -> dict[str, object]:
    """Lab contacts the caller may see, with their person and laboratory."""
    total, rows = await labcontacts.get_labcontacts(db, identity.scope, schema, page, proposal=proposal)
    return listed(rows, total, page)


@contacts.get("/{labContactId}", response_model=LabContact, responses=responses(NotFound))
async def get_labcontact(contact: LabContactDep) -> dict[str, object]:
    """One lab contact."""
    return contact


@contacts.post("", response_model=LabContact, status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def create_labcontact(
    data: LabContactCreate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """A lab contact for an existing person, or a new one (py-ispyb's shape: ``Person`` with its ``Laboratory``)."""
    new_id = await labcontacts.create_labcontact(db, identity.scope, schema, data)
    return await labcontact_of(db, identity, schema, new_id)


@contacts.patch("/{labContactId}", response_model=LabContact, responses=WRITE_ERRORS)
async def update_labcontact(
    labContactId: Id, patch: LabContactUpdate, identity: IdentityDep, db: WriteSessionDep, schema: SchemaDep
) -> dict[str, object]:
    """Change some fields of a lab contact, its person's email and phone, their laboratory (py-ispyb's nesting,
    as the UI's view page sends one field at a time); an account's details or a shared laboratory are refused."""
    await labcontacts.update_labcontact(db, identity.scope, schema, labContactId, patch)
    return await labcontact_of(db, identity, schema, labContactId)
