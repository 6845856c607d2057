"""A validated spreadsheet's rows checked against the database and written as one unit: dewars → containers →
samples with their crystal and desired protocol (``DiffractionPlan``), in bulk."""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import BLSample, Container, Crystal, Dewar, DiffractionPlan, Protein, Shipping
from relational.reach import flush_or_conflict, owner_in_reach
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.samples import Cell
from schemas.shipment_import import ImportReport, ImportRow, RowError
from schemas.times import local_now

Rows = Sequence[tuple[int, ImportRow]]
Progress = Callable[[int], None]


class Plan:
    """What a sheet asks for, grouped, each row's desired protocol, and every problem found on the way (built
    off the event loop: a large sheet takes seconds)."""

    def __init__(self, rows: Rows, headers: Mapping[str, str]) -> None:
        self.rows, self.headers = rows, headers
        self.errors: list[RowError] = []
        self.containers: dict[tuple[str, str], list[tuple[int, ImportRow]]] = defaultdict(list)
        for number, row in rows:
            self.containers[row.container_key].append((number, row))
        self.protocols = [row.protocol() for _, row in rows]

    def error(self, number: int, field: str | None, value: object, message: str) -> None:
        column = self.headers.get(field) if field else None
        self.errors.append(RowError(row=number, column=column, value=value, message=message))

    def check_sheet(self, capacities: Mapping[str, int], kinds: Sequence[str]) -> None:
        """What the sheet alone can tell: container consistency, positions, names, experiment kinds."""
        seen_names: dict[tuple[str, str], int] = {}
        for (kind, key), members in self.containers.items():
            first_number, first = members[0]
            positions: dict[int, int] = {}
            capacity = capacities.get(first.containerType)
            for number, row in members:
                if kind == "code" and not row.containerCode:
                    self.error(number, "containerBarcode", None, "give a container barcode or a container name")
                if row.dewar != first.dewar:
                    self.error(
                        number,
                        "dewar",
                        row.dewar,
                        f"container `{key}` is in dewar `{first.dewar}` (row {first_number})",
                    )
                if row.containerType != first.containerType:
                    message = f"container `{key}` is a {first.containerType} (row {first_number})"
                    self.error(number, "containerType", row.containerType, message)
                elif capacity is None:
                    known = ", ".join(capacities)
                    self.error(number, "containerType", row.containerType, f"unknown container type; known: {known}")
                elif row.position > capacity:
                    message = f"beyond the {capacity} positions of a {row.containerType}"
                    self.error(number, "position", row.position, message)
                if row.position in positions:
                    message = f"position {row.position} of `{key}` is already taken by row {positions[row.position]}"
                    self.error(number, "position", row.position, message)
                positions.setdefault(row.position, number)
                name_key = (row.proteinAcronym, row.sampleName)
                if name_key in seen_names:
                    message = (
                        f"sample `{row.sampleName}` of `{row.proteinAcronym}` is already on row {seen_names[name_key]}"
                    )
                    self.error(number, "sampleName", row.sampleName, message)
                seen_names.setdefault(name_key, number)
                if row.experimentKind and row.experimentKind not in kinds:
                    message = f"unknown experiment kind; this database accepts: {', '.join(kinds)}"
                    self.error(number, "experimentKind", row.experimentKind, message)

    async def check_database(self, db: ReadSession, proposal_id: int, create_proteins: bool) -> dict[str | None, int]:
        """Barcodes already in use and unknown proteins; the proposal's protein ids by acronym."""
        barcodes: dict[str | None, int] = {
            key: members[0][0] for (kind, key), members in self.containers.items() if kind == "barcode"
        }
        for chunk in _chunks(list(barcodes)):
            for barcode, container_id in await db.execute(
                select(Container.barcode, Container.containerId).where(Container.barcode.in_(chunk))
            ):
                message = f"container barcode already used by container {container_id}"
                self.error(barcodes[barcode], "containerBarcode", barcode, message)
        acronyms = sorted({row.proteinAcronym for _, row in self.rows})
        known: dict[str | None, int] = {}
        for chunk in _chunks(acronyms):
            query = select(Protein.acronym, Protein.proteinId).where(
                Protein.proposalId == proposal_id, Protein.acronym.in_(chunk)
            )
            for acronym, protein_id in await db.execute(query.order_by(Protein.proteinId)):
                known.setdefault(acronym, protein_id)
        if not create_proteins:
            for number, row in self.rows:
                if row.proteinAcronym not in known:
                    message = "no such protein in this proposal (create it first; this facility does not create them)"
                    self.error(number, "proteinAcronym", row.proteinAcronym, message)
        return known


def _chunks(items: list[Any], size: int = 1000) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _ids(db: AsyncSession, model: type, key: Any, params: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT … RETURNING the new ids, in the order of ``params``."""
    if not params:
        return []
    result = await db.execute(insert(model).returning(key, sort_by_parameter_order=True), params)
    return list(result.scalars())


async def run(
    db: AsyncSession,
    scope: Scope,
    plan: Plan,
    *,
    proposal_id: int,
    shipping_id: int | None,
    shipping_name: str,
    capacities: Mapping[str, int],
    create_proteins: bool,
    dry_run: bool,
    person_id: int,
    progress: Progress | None = None,
) -> ImportReport | list[RowError]:
    """Check ``plan`` (already checked on its own: ``Plan.check_sheet``) against the database, then (unless
    ``dry_run``) write it; the caller commits or rolls back. Returns every problem instead when there is any:
    nothing is written then."""
    existing: dict[str | None, int] = {}  # a dewar of the shipment may have no code
    if shipping_id is not None:
        if await owner_in_reach(db, scope, "shipping", shipping_id) != proposal_id:
            plan.error(1, None, shipping_id, f"shipment {shipping_id} belongs to another proposal")
        query = select(Dewar.code, Dewar.dewarId).where(Dewar.shippingId == shipping_id)
        existing = {code: dewar_id for code, dewar_id in await db.execute(query)}
    proteins = await plan.check_database(db, proposal_id, create_proteins)
    if plan.errors:
        return sorted(plan.errors, key=lambda e: (e.row, e.column or ""))
    new_proteins = sorted({row.proteinAcronym for _, row in plan.rows} - set(proteins))
    dewar_codes = sorted({members[0][1].dewar for members in plan.containers.values()} - set(existing))
    report = ImportReport(
        dryRun=dry_run,
        shippingId=shipping_id,
        rows=len(plan.rows),
        dewars=len(dewar_codes),
        containers=len(plan.containers),
        samples=len(plan.rows),
        diffractionPlans=sum(p is not None for p in plan.protocols),
        proteinsCreated=new_proteins,
    )
    if dry_run:
        return report
    if shipping_id is None:
        shipping = Shipping(
            proposalId=proposal_id, shippingName=shipping_name, creationDate=local_now(), shippingStatus="opened"
        )
        db.add(shipping)
        await flush_or_conflict(db, f"Shipment `{shipping_name}`")
        shipping_id = report.shippingId = shipping.shippingId
    now = local_now()
    dewar_params = [
        {"shippingId": shipping_id, "code": c, "dewarStatus": "opened", "bltimeStamp": now} for c in dewar_codes
    ]
    dewars = existing | dict(zip(dewar_codes, await _ids(db, Dewar, Dewar.dewarId, dewar_params), strict=True))
    container_params = []
    for members in plan.containers.values():
        row = members[0][1]
        container_params.append(
            {
                "dewarId": dewars[row.dewar],
                "code": row.containerCode or row.containerBarcode,
                "barcode": row.containerBarcode,
                "containerType": row.containerType,
                "capacity": capacities[row.containerType],
                "containerStatus": "opened",
                "bltimeStamp": now,
            }
        )
    container_ids = dict(
        zip(plan.containers, await _ids(db, Container, Container.containerId, container_params), strict=True)
    )
    protein_params = [
        {"proposalId": proposal_id, "acronym": a, "name": a, "personId": person_id, "isCreatedBySampleSheet": True}
        for a in new_proteins
    ]
    proteins |= dict(zip(new_proteins, await _ids(db, Protein, Protein.proteinId, protein_params), strict=True))
    if progress:
        progress(0)
    done = 0
    for chunk in _chunks(list(zip(plan.rows, plan.protocols, strict=True)), 1000):
        crystal_ids = await _ids(
            db,
            Crystal,
            Crystal.crystalId,
            [
                {"proteinId": proteins[row.proteinAcronym]} | {c: getattr(row, c) for c in Cell.model_fields}
                for (_, row), _ in chunk
            ],
        )
        wanted = [p.model_dump() for _, p in chunk if p is not None]
        plan_ids = iter(await _ids(db, DiffractionPlan, DiffractionPlan.diffractionPlanId, wanted))
        samples = [
            {
                "name": row.sampleName,
                "containerId": container_ids[row.container_key],
                "location": str(row.position),
                "code": row.pinBarcode,
                "comments": row.comments,
                "crystalId": crystal_id,
                "diffractionPlanId": next(plan_ids) if protocol is not None else None,
            }
            for ((_, row), protocol), crystal_id in zip(chunk, crystal_ids, strict=True)
        ]
        await db.execute(insert(BLSample), samples)
        done += len(chunk)
        if progress:
            progress(done)
    return report
