"""Samples (with crystal, container and desired protocol) and proteins, scoped to the caller through
``Protein.proposalId``."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select

from relational.batches import Slice, by_ids, by_parent
from relational.common import AnySelect, Page, columns, paged, proposal_name, where_given
from relational.db import WriteSession
from relational.models import (
    AutoProcIntegration,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
    BLSample,
    Container,
    Crystal,
    DataCollection,
    DataCollectionGroup,
    DiffractionPlan,
    Proposal,
    Protein,
    RobotAction,
)
from relational.reach import flush_or_conflict, lock, owner_in_reach, proposal_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import Conflict, InvalidInput, NotFound
from schemas.samples import Cell, ProteinCreate, Protocol, SampleCreate, SampleStatus, SampleUpdate

_CRYSTAL = tuple(Cell.model_fields)
_PLAN = tuple(Protocol.model_fields)
_NO_PLAN: dict[str, Any] = dict.fromkeys(_PLAN)
#: the sample's own columns a patch sets (the extra keys of a lenient body, kept by pydantic, are never among them)
_UPDATED = set(SampleUpdate.model_fields) - {"blSampleId", "DiffractionPlan"}


def _visible(scope: Scope) -> AnySelect:
    """Samples the caller sees, flat: with crystal, protein, container and proposal name (no order)."""
    return (
        select(
            BLSample.blSampleId,
            BLSample.name,
            BLSample.location,
            BLSample.containerId,
            BLSample.code,
            BLSample.comments,
            Crystal.crystalId,
            *[getattr(Crystal, c) for c in _CRYSTAL],
            Protein.proteinId,
            Protein.proposalId,
            Protein.name.label("protein_name"),
            Protein.acronym,
            Container.code.label("container_code"),
            Container.barcode.label("container_barcode"),
            Container.sampleChangerLocation,
            Container.beamlineLocation,
            BLSample.diffractionPlanId,
            proposal_name,
        )
        .join(Crystal, Crystal.crystalId == BLSample.crystalId)
        .join(Protein, Protein.proteinId == Crystal.proteinId)
        .join(Proposal, Proposal.proposalId == Protein.proposalId)
        .outerjoin(Container, Container.containerId == BLSample.containerId)
        .where(scope.proposals(Protein.proposalId))
    )


_ORDER = (BLSample.blSampleId.desc(),)


async def get_samples(
    db: ReadSession,
    scope: Scope,
    page: Page,
    *,
    blSampleId: int | None = None,
    proposal: str | None = None,
    containerId: int | None = None,
    proteinId: int | None = None,
    search: str | None = None,
    status: SampleStatus | None = None,
    beamLineName: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible samples, newest first, py-ispyb's nesting (Crystal → Protein, Container, DiffractionPlan);
    ``beamLineName``: those in containers at that beamline (``Container.beamlineLocation``, as MXCuBE asks)."""
    query = _visible(scope).order_by(*_ORDER)
    query = where_given(
        query,
        (BLSample.blSampleId, blSampleId),
        (BLSample.containerId, containerId),
        (Protein.proteinId, proteinId),
        (Container.beamlineLocation, beamLineName or None),
    )
    if proposal:
        query = query.where(proposal_name == proposal)
    if search:
        like = f"%{search}%"
        query = query.where(or_(BLSample.name.like(like), Protein.acronym.like(like), Container.code.like(like)))
    if status is not None:
        query = query.where(BLSample.blSampleId.in_(_with_status(status)))
    total, rows = await paged(db, query, page)
    return total, await _shape(db, rows)


async def _shape(db: ReadSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["blSampleId"] for r in rows]
    plan_ids = [r["diffractionPlanId"] for r in rows if r["diffractionPlanId"]]
    collected = await _collected(db, ids)
    plans: dict[int, dict[str, Any]] = {}
    if plan_ids:
        query = select(DiffractionPlan.diffractionPlanId, *[getattr(DiffractionPlan, f) for f in _PLAN])
        for plan in (await db.execute(query.where(DiffractionPlan.diffractionPlanId.in_(plan_ids)))).mappings():
            plans[plan["diffractionPlanId"]] = {f: plan[f] for f in _PLAN}
    out = []
    for r in rows:
        # Container and DiffractionPlan are objects even when the sample has none (fields null): MXCuBE reads
        # their keys, and one null object would break its whole sample list
        container = {
            "containerId": r["containerId"],
            "code": r["container_code"],
            "barcode": r["container_barcode"],
            "sampleChangerLocation": r["sampleChangerLocation"],
            "beamlineLocation": r["beamlineLocation"],
        }
        plan_id = r["diffractionPlanId"]
        protocol = {"diffractionPlanId": plan_id if plan_id in plans else None} | plans.get(plan_id, _NO_PLAN)
        protein = {"proteinId": r["proteinId"], "proposalId": r["proposalId"], "name": r["protein_name"]}
        out.append(
            {
                **{k: r[k] for k in ("blSampleId", "name", "location", "containerId", "code", "comments")},
                "Crystal": {"crystalId": r["crystalId"], **{c: r[c] for c in _CRYSTAL}, "space_group": r["spaceGroup"]}
                | {"Protein": protein | {"acronym": r["acronym"]}},
                "Container": container,
                "DiffractionPlan": protocol,
                "_metadata": collected.get(r["blSampleId"], _NOTHING_COLLECTED) | {"proposal": r["proposal"]},
            }
        )
    return out


_NOTHING_COLLECTED = {"datacollections": 0, "types": [], "autoIntegrations": 0, "integratedResolution": None}


async def _collected(db: ReadSession, ids: list[int]) -> dict[int | None, dict[str, Any]]:
    """Per sample: data collections, their experiment types, auto-integrations and the best resolution reached."""
    if not ids:
        return {}
    query = (
        select(
            DataCollectionGroup.blSampleId,
            DataCollectionGroup.experimentType,
            func.count(func.distinct(DataCollection.dataCollectionId)),
            func.count(func.distinct(AutoProcIntegration.autoProcIntegrationId)),
            func.min(AutoProcScalingStatistics.resolutionLimitHigh),
        )
        .join(DataCollection, DataCollection.dataCollectionGroupId == DataCollectionGroup.dataCollectionGroupId)
        .outerjoin(AutoProcIntegration, AutoProcIntegration.dataCollectionId == DataCollection.dataCollectionId)
        .outerjoin(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcIntegrationId == AutoProcIntegration.autoProcIntegrationId,
        )
        .outerjoin(
            AutoProcScalingStatistics,
            AutoProcScalingStatistics.autoProcScalingId == AutoProcScalingHasInt.autoProcScalingId,
        )
        .where(DataCollectionGroup.blSampleId.in_(ids))
        .group_by(DataCollectionGroup.blSampleId, DataCollectionGroup.experimentType)
    )
    out: dict[int | None, dict[str, Any]] = {}
    for sample_id, kind, dcs, integrations, resolution in await db.execute(query):
        entry = out.setdefault(sample_id, {**_NOTHING_COLLECTED, "types": []})
        entry["datacollections"] += dcs
        entry["autoIntegrations"] += integrations
        if kind:
            entry["types"] = sorted({*entry["types"], kind})
        if resolution is not None:
            best = entry["integratedResolution"]
            entry["integratedResolution"] = resolution if best is None else min(best, resolution)
    return out


def _with_status(status: SampleStatus) -> Any:
    """Samples that went through ``status`` (py-ispyb's sample status filter)."""
    if status == SampleStatus.sample_action:
        return select(RobotAction.blsampleId)
    collected = select(DataCollectionGroup.blSampleId).join(
        DataCollection, DataCollection.dataCollectionGroupId == DataCollectionGroup.dataCollectionGroupId
    )
    if status == SampleStatus.data_collected:
        return collected
    return collected.join(AutoProcIntegration, AutoProcIntegration.dataCollectionId == DataCollection.dataCollectionId)


def check_kind(protocol: Protocol | None, kinds: Sequence[str]) -> None:
    """422 unless the protocol's experiment kind is one this database accepts."""
    if protocol is not None and protocol.experimentKind is not None and protocol.experimentKind not in kinds:
        raise InvalidInput(
            f"Unknown experimentKind `{protocol.experimentKind}`; this database accepts: {', '.join(kinds)}"
        )


async def _hold(db: WriteSession, container_id: int) -> None:
    """Lock the container whose positions are to be checked and written, before the transaction's first plain read
    (``reach.lock``): concurrent placements in one container then run one at a time."""
    if not await lock(db, Container.containerId, container_id):
        raise NotFound(f"Container {container_id} not found")


async def _place(
    db: ReadSession, scope: Scope, container_id: int, location: int, proposal_id: int, sample_id: int
) -> None:
    """The container (held by ``_hold``) must be the protein's proposal's, the position within its capacity and
    free."""
    if await owner_in_reach(db, scope, "container", container_id) != proposal_id:
        raise InvalidInput(f"Container {container_id} belongs to another proposal than the sample's protein")
    capacity = await db.scalar(select(Container.capacity).where(Container.containerId == container_id))
    if capacity is not None and location > capacity:
        raise InvalidInput(f"Position {location} is beyond container {container_id}'s capacity of {capacity}")
    taken = await db.scalar(
        select(BLSample.blSampleId).where(
            BLSample.containerId == container_id,
            BLSample.location == str(location),
            BLSample.blSampleId != sample_id,
        )
    )
    if taken is not None:
        raise Conflict(f"Position {location} of container {container_id} already holds sample {taken}")


async def create_sample(db: WriteSession, scope: Scope, data: SampleCreate, kinds: Sequence[str]) -> int:
    """A new sample of a protein the caller reaches, with its own crystal and, if given, its protocol."""
    check_kind(data.DiffractionPlan, kinds)
    if data.containerId is not None:
        await _hold(db, data.containerId)
    proposal_id = await owner_in_reach(db, scope, "protein", data.Crystal.protein())
    if data.containerId is not None and data.location is not None:
        await _place(db, scope, data.containerId, data.location, proposal_id, 0)
    crystal = Crystal(**data.Crystal.model_dump())
    db.add(crystal)
    plan = None
    if data.DiffractionPlan is not None and not data.DiffractionPlan.is_empty():
        plan = DiffractionPlan(**data.DiffractionPlan.model_dump())
        db.add(plan)
    await flush_or_conflict(db, f"Sample `{data.name}`")
    sample = BLSample(
        name=data.name,
        containerId=data.containerId,
        location=None if data.location is None else str(data.location),
        code=data.code,
        comments=data.comments,
        crystalId=crystal.crystalId,
        diffractionPlanId=plan.diffractionPlanId if plan else None,
    )
    db.add(sample)
    await flush_or_conflict(db, f"Sample `{data.name}`")
    return sample.blSampleId


async def update_sample(
    db: WriteSession, scope: Scope, sample_id: int, patch: SampleUpdate, kinds: Sequence[str]
) -> None:
    check_kind(patch.DiffractionPlan, kinds)
    if patch.model_fields_set & {"containerId", "location"}:
        # lock the sample's row (so nobody moves it meanwhile), then the container it is to be in, before any read
        query = select(BLSample.containerId).where(BLSample.blSampleId == sample_id).with_for_update()
        if (current := (await db.execute(query)).first()) is None:
            raise NotFound(f"Sample {sample_id} not found")
        if (target := patch.containerId if "containerId" in patch.model_fields_set else current[0]) is not None:
            await _hold(db, target)
    row = (
        await db.execute(
            select(BLSample, Protein.proposalId)
            .join(Crystal, Crystal.crystalId == BLSample.crystalId)
            .join(Protein, Protein.proteinId == Crystal.proteinId)
            .where(BLSample.blSampleId == sample_id, scope.proposals(Protein.proposalId))
        )
    ).first()
    if row is None:
        raise NotFound(f"Sample {sample_id} not found")
    sample, proposal_id = row
    changes = patch.model_dump(exclude_unset=True, include=_UPDATED)
    container_id = changes.get("containerId", sample.containerId)
    location = changes.get("location", sample.location)
    if ("containerId" in changes or "location" in changes) and container_id is not None:
        if location is None:
            raise InvalidInput("a sample in a container needs a `location`")
        await _place(db, scope, container_id, int(location), proposal_id, sample_id)
    for key, value in changes.items():
        setattr(sample, key, str(value) if key == "location" and value is not None else value)
    if patch.DiffractionPlan is not None:
        plan = await db.get(DiffractionPlan, sample.diffractionPlanId) if sample.diffractionPlanId else None
        if plan is None:
            plan = DiffractionPlan()
            db.add(plan)
        for key, value in patch.DiffractionPlan.model_dump().items():
            setattr(plan, key, value)
        await flush_or_conflict(db, f"Protocol of sample {sample_id}")
        sample.diffractionPlanId = plan.diffractionPlanId
    await flush_or_conflict(db, f"Sample {sample_id}")


def _visible_proteins(scope: Scope) -> AnySelect:
    """Proteins the caller sees, with their proposal's name (no order)."""
    return (
        select(*columns(Protein, "description", "safetyLevel", "proteinType", "sequence", "personId"), proposal_name)
        .join(Proposal, Proposal.proposalId == Protein.proposalId)
        .where(scope.proposals(Protein.proposalId))
    )


_PROTEIN_ORDER = (Protein.proteinId.desc(),)


async def get_proteins(
    db: ReadSession,
    scope: Scope,
    page: Page,
    *,
    proteinId: int | None = None,
    proposal: str | None = None,
    search: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Visible proteins, newest first, with their sample counts."""
    query = _visible_proteins(scope).order_by(*_PROTEIN_ORDER)
    query = where_given(query, (Protein.proteinId, proteinId), (proposal_name, proposal or None))
    if search:
        query = query.where(or_(Protein.acronym.like(f"%{search}%"), Protein.name.like(f"%{search}%")))
    total, rows = await paged(db, query, page)
    counts: dict[int, int] = {}
    if rows:
        counts = dict(
            (
                await db.execute(
                    select(Crystal.proteinId, func.count(BLSample.blSampleId))
                    .join(BLSample, BLSample.crystalId == Crystal.crystalId)
                    .where(Crystal.proteinId.in_([r["proteinId"] for r in rows]))
                    .group_by(Crystal.proteinId)
                )
            ).all()
        )
    for row in rows:
        row["_metadata"] = {"samples": counts.get(row["proteinId"], 0)}
    return total, rows


async def acronym_taken(db: ReadSession, proposal_id: int, acronym: str) -> int | None:
    return await db.scalar(
        select(Protein.proteinId).where(Protein.proposalId == proposal_id, Protein.acronym == acronym).limit(1)
    )


async def create_protein(db: WriteSession, scope: Scope, data: ProteinCreate, person_id: int) -> int:
    """A new protein in a proposal the caller reaches; acronyms are unique within a proposal (the schema does not
    say so: the proposal's row is locked first, so concurrent creations check one after the other)."""
    if not await lock(db, Proposal.proposalId, data.proposalId):
        raise NotFound(f"Proposal {data.proposalId} not found")
    await proposal_in_reach(db, scope, data.proposalId)
    if (other := await acronym_taken(db, data.proposalId, data.acronym)) is not None:
        raise Conflict(f"Proposal {data.proposalId} already has a protein `{data.acronym}` ({other})")
    protein = Protein(**data.model_dump(), personId=person_id)
    db.add(protein)
    await flush_or_conflict(db, f"Protein `{data.acronym}`")
    return protein.proteinId


async def of_containers(db: ReadSession, scope: Scope, container_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per container, that page of its visible samples, newest first (flat rows)."""
    return await by_parent(db, _visible(scope), BLSample.containerId, container_ids, _ORDER, page)


async def by_sample_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible samples among ``ids`` (flat rows)."""
    return await by_ids(db, _visible(scope), BLSample.blSampleId, ids)


async def proteins_of(db: ReadSession, scope: Scope, proposal_ids: Sequence[int], page: Page) -> dict[int, Slice]:
    """Per proposal, that page of its visible proteins, newest first (without counts)."""
    return await by_parent(db, _visible_proteins(scope), Protein.proposalId, proposal_ids, _PROTEIN_ORDER, page)


async def by_protein_ids(db: ReadSession, scope: Scope, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The visible proteins among ``ids`` (without counts)."""
    return await by_ids(db, _visible_proteins(scope), Protein.proteinId, ids)
