"""Validating dependencies: each resolves an object the caller may see from the path, or raises ``NotFound``
(404, never 403: an object out of reach does not exist for the caller). FastAPI resolves each once per request,
on the request's read session and identity. ``<object>_of`` is the same look-up for a route that writes first and
then answers the object (on its write session, which sees what it wrote)."""

from typing import Annotated, Any

from fastapi import Depends, Path

from app.deps import DocumentsDep, Identity, IdentityDep, ReadSessionDep, SchemaDep, StateDep, document_scope
from app.routers.params import Id, ProposalName, ResultId
from documents import kinds, results
from documents.store import DocumentStore
from relational import containers, datacollections, dewars, labcontacts, proposals, samples, sessions, shipping
from relational.common import Page
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession
from schemas.errors import NotFound

Row = dict[str, Any]


def _found(row: Row | None, missing: str) -> Row:
    if row is None:
        raise NotFound(missing)
    return row


async def shipping_of(db: ReadSession, identity: Identity, shipping_id: int) -> Row:
    _, rows = await shipping.get_shippings(db, identity.scope, Page(0, 1), shippingId=shipping_id)
    return _found(rows[0] if rows else None, f"Shipment {shipping_id} not found")


async def dewar_of(db: ReadSession, identity: Identity, dewar_id: int) -> Row:
    _, rows = await dewars.get_dewars(db, identity.scope, Page(0, 1), dewarId=dewar_id)
    return _found(rows[0] if rows else None, f"Dewar {dewar_id} not found")


async def valid_dewar(dewarId: Id, identity: IdentityDep, db: ReadSessionDep) -> Row:
    return await dewar_of(db, identity, dewarId)


async def container_of(db: ReadSession, identity: Identity, container_id: int) -> Row:
    _, rows = await containers.get_containers(db, identity.scope, Page(0, 1), containerId=container_id)
    return _found(rows[0] if rows else None, f"Container {container_id} not found")


async def valid_container(containerId: Id, identity: IdentityDep, db: ReadSessionDep) -> Row:
    return await container_of(db, identity, containerId)


async def sample_of(db: ReadSession, identity: Identity, sample_id: int) -> Row:
    _, rows = await samples.get_samples(db, identity.scope, Page(0, 1), blSampleId=sample_id)
    return _found(rows[0] if rows else None, f"Sample {sample_id} not found")


async def valid_sample(blSampleId: Id, identity: IdentityDep, db: ReadSessionDep) -> Row:
    return await sample_of(db, identity, blSampleId)


async def protein_of(db: ReadSession, identity: Identity, protein_id: int) -> Row:
    _, rows = await samples.get_proteins(db, identity.scope, Page(0, 1), proteinId=protein_id)
    return _found(rows[0] if rows else None, f"Protein {protein_id} not found")


async def valid_protein(proteinId: Id, identity: IdentityDep, db: ReadSessionDep) -> Row:
    return await protein_of(db, identity, proteinId)


async def labcontact_of(db: ReadSession, identity: Identity, schema: SchemaInfo, contact_id: int) -> Row:
    _, rows = await labcontacts.get_labcontacts(db, identity.scope, schema, Page(0, 1), labContactId=contact_id)
    return _found(rows[0] if rows else None, f"Lab contact {contact_id} not found")


async def valid_labcontact(labContactId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep) -> Row:
    return await labcontact_of(db, identity, schema, labContactId)


async def valid_proposal(proposal: ProposalName, identity: IdentityDep, db: ReadSessionDep, state: StateDep) -> Row:
    groups = state.settings.beamline_groups
    _, rows = await proposals.get_proposals(db, identity.scope, Page(0, 1), proposal=proposal, groups=groups)
    return _found(rows[0] if rows else None, f"Proposal `{proposal}` not found")


async def valid_session(
    sessionId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep, state: StateDep
) -> Row:
    _, rows = await sessions.get_sessions(
        db,
        identity.scope,
        schema,
        Page(0, 1),
        sessionId=sessionId,
        groups=state.settings.beamline_groups,
        counts=state.session_counts,
    )
    return _found(rows[0] if rows else None, f"Session {sessionId} not found")


async def valid_datacollection(
    dataCollectionId: Id, identity: IdentityDep, db: ReadSessionDep, schema: SchemaDep
) -> Row:
    found = await datacollections.get_datacollection(db, identity.scope, schema, dataCollectionId)
    return _found(found, f"Data collection {dataCollectionId} not found")


async def result_of(db: ReadSession, identity: Identity, store: DocumentStore, result_id: str) -> Row:
    """A result (any version) within the caller's reach (its proposals and sessions, read from SQL)."""
    found = await results.get(await store.ready(), result_id, await document_scope(db, identity.scope))
    return _found(found, f"Result {result_id} not found")


async def valid_result(resultId: ResultId, identity: IdentityDep, db: ReadSessionDep, store: DocumentsDep) -> Row:
    return await result_of(db, identity, store, resultId)


async def valid_kind(kind: Annotated[str, Path(max_length=64)], store: DocumentsDep) -> Row:
    entry = await kinds.get_kind(await store.ready(), kind)
    return _found(entry, f"Kind `{kind}` is not registered")


DewarDep = Annotated[Row, Depends(valid_dewar)]
ContainerDep = Annotated[Row, Depends(valid_container)]
SampleDep = Annotated[Row, Depends(valid_sample)]
ProteinDep = Annotated[Row, Depends(valid_protein)]
LabContactDep = Annotated[Row, Depends(valid_labcontact)]
ProposalDep = Annotated[Row, Depends(valid_proposal)]
SessionDep = Annotated[Row, Depends(valid_session)]
DataCollectionDep = Annotated[Row, Depends(valid_datacollection)]
ResultDep = Annotated[Row, Depends(valid_result)]
KindDep = Annotated[Row, Depends(valid_kind)]
