"""Changing a protein and deleting a sample: the edits py-ispyb-ui's sample and protein pages make, under the
rules of their creation (the proposal the caller reaches; acronyms unique within a proposal)."""

from sqlalchemy import column, delete, exists, literal, select, table, union_all

from relational.db import WriteSession
from relational.flavour import SchemaInfo
from relational.models import BLSample, Crystal, Proposal, Protein
from relational.models.subsamples import ContainerQueueSample, XRFFluorescenceMappingROI
from relational.reach import flush_or_conflict, lock, owner_in_reach
from relational.samples import acronym_taken
from relational.scope import Scope
from schemas.errors import Conflict, NotFound
from schemas.samples import ProteinUpdate

#: what may hang off a sample (table, its column naming the sample, what the refusal calls it), both flavours';
#: many of them cascade on delete, so a sample that has any is refused rather than emptied silently
DEPENDANTS = (
    ("DataCollectionGroup", "blSampleId", "data collection groups"),
    ("DataCollection", "blSampleId", "data collections"),
    ("RobotAction", "blsampleId", "robot actions"),
    ("BLSubSample", "blSampleId", "sub samples"),
    ("EnergyScan", "blSampleId", "energy scans"),
    ("XFEFluorescenceSpectrum", "blSampleId", "fluorescence spectra"),
    ("BLSample_has_EnergyScan", "blSampleId", "energy scans"),
    ("BLSampleImage", "blSampleId", "images"),
    ("SampleComposition", "blSampleId", "components"),
    (ContainerQueueSample.__tablename__, "blSampleId", "queued collections"),
    ("BLSampleGroup_has_BLSample", "blSampleId", "sample groups"),
    ("Project_has_BLSample", "blSampleId", "projects"),
    ("BLSample_has_DataCollectionPlan", "blSampleId", "collection plans"),
    ("BLSample_has_DiffractionPlan", "blSampleId", "diffraction plans"),
    ("DataCollectionPlanGroup", "blSampleId", "collection plan groups"),
    (XRFFluorescenceMappingROI.__tablename__, "blSampleId", "fluorescence maps"),
    ("XrayCentringResult", "blSampleId", "X-ray centrings"),
    ("BLSamplePosition", "blSampleId", "positions"),
    ("BLSample_has_Positioner", "blSampleId", "positioners"),
    ("BLSample_has_Ligand", "blSampleId", "ligands"),
    ("Structure", "blSampleId", "structures"),
)


def _has_column(schema: SchemaInfo, name: str, key: str) -> bool:
    """Whether the live table has the column: a mapped table's columns are known (the two tables only Diamond's
    link to a sample are mapped for this); the others have it in every flavour that has them."""
    return schema.has_table(name) and (name not in schema.columns or key.lower() in schema.columns[name])


async def update_protein(db: WriteSession, scope: Scope, protein_id: int, patch: ProteinUpdate) -> None:
    """Change the given fields of a protein the caller reaches; a new acronym must be free in its proposal (the
    proposal's row is locked first, as creation does)."""
    owner = await db.scalar(select(Protein.proposalId).where(Protein.proteinId == protein_id))
    if owner is None or not await lock(db, Proposal.proposalId, owner):
        raise NotFound(f"Protein {protein_id} not found")
    await owner_in_reach(db, scope, "protein", protein_id)
    changes = patch.model_dump(exclude_unset=True)
    if (acronym := changes.get("acronym")) is not None:
        other = await acronym_taken(db, owner, acronym)
        if other is not None and other != protein_id:
            raise Conflict(f"Proposal {owner} already has a protein `{acronym}` ({other})")
    protein = await db.get(Protein, protein_id)
    assert protein is not None
    for key, value in changes.items():
        setattr(protein, key, value)
    await flush_or_conflict(db, f"Protein {protein_id}")


async def delete_sample(db: WriteSession, scope: Scope, schema: SchemaInfo, sample_id: int) -> None:
    """Delete a sample the caller reaches that nothing refers to (409 naming what does); its crystal and protocol
    stay. The sample's row is locked first: nothing can be attached to it between the check and the delete."""
    if not await lock(db, BLSample.blSampleId, sample_id):
        raise NotFound(f"Sample {sample_id} not found")
    reached = await db.scalar(
        select(BLSample.blSampleId)
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .where(BLSample.blSampleId == sample_id, scope.proposals(Protein.proposalId))
    )
    if reached is None:
        raise NotFound(f"Sample {sample_id} not found")
    present = [(name, key, what) for name, key, what in DEPENDANTS if _has_column(schema, name, key)]
    probes = [
        select(literal(what).label("what")).where(exists().where(t.c[key] == sample_id))
        for name, key, what in present
        for t in [table(name, column(key))]
    ]
    found = sorted({row[0] for row in await db.execute(union_all(*probes))}) if probes else []
    if found:
        raise Conflict(f"Sample {sample_id} has {', '.join(found)}: it is kept (remove those first)")
    await db.execute(delete(BLSample).where(BLSample.blSampleId == sample_id))
