"""Metrics pipelines already wrote to SQL, read as metric documents (for ``ispyb-hybrid sync-sql-metrics``).

MX scaling statistics come through the mapped models (both flavours). The Cryo-EM tables differ between the
flavours (Diamond links MotionCorrection to its data collection, the official schema goes through Movie; CTF
columns differ and the official one keeps numbers in varchar), so they are reflected from the live database
and read where present. Each document carries ``idempotencyKey`` ``sql:<table>:<id>``: a re-run adds nothing.
"""

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from relational.flavour import SchemaInfo
from relational.models import (
    AutoProcIntegration,
    AutoProcScalingHasInt,
    AutoProcScalingStatistics,
    BLSession,
    DataCollection,
    DataCollectionGroup,
)
from relational.reach import collection_owners

Doc = dict[str, Any]
BATCH = 2000
SCALING = {
    "resolutionLimitLow": "resolutionLimitLow",
    "resolutionLimitHigh": "resolutionLimitHigh",
    "rMerge": "rMerge",
    "rMeas": "rMeasAllIPlusIMinus",
    "rPim": "rPimAllIPlusIMinus",
    "meanIOverSigI": "meanIOverSigI",
    "completeness": "completeness",
    "multiplicity": "multiplicity",
    "ccHalf": "ccHalf",
    "anomalousCompleteness": "anomalousCompleteness",
    "anomalousMultiplicity": "anomalousMultiplicity",
}
#: metric field -> candidate columns (first present wins), per EM table
MOTION = {"firstFrame": ("firstFrame",), "lastFrame": ("lastFrame",), "totalMotion": ("totalMotion",),
          "averageMotionPerFrame": ("averageMotionPerFrame",), "dosePerFrame": ("dosePerFrame",)}  # fmt: skip
CTF = {
    "defocusU": ("defocusU",),
    "defocusV": ("defocusV",),
    "astigmatism": ("astigmatism",),
    "astigmatismAngle": ("astigmatismAngle", "angle"),
    "estimatedResolution": ("estimatedResolution", "resolutionLimit"),
    "crossCorrelation": ("ccValue", "crossCorrelationCoefficient"),
    "estimatedBfactor": ("estimatedBfactor",),
    "iceRingDensity": ("iceRingDensity",),
}
PICKER = {"numberOfParticles": ("numberOfParticles",), "particleDiameter": ("particleDiameter",)}


def _number(value: Any) -> float | int | None:
    """Numbers as numbers (the official EM tables keep them in varchar); None for what is not one."""
    if value is None or isinstance(value, int | float):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _doc(
    kind: str, table: str, row_id: int, row: Any, values: dict[str, Any], labels: dict[str, Any] | None = None
) -> Doc:
    """A metric document from a SQL row (``row`` has dc, proposalId, sessionId); ``labels`` are kept as text."""
    kept = (labels or {}) | {k: n for k, v in values.items() if (n := _number(v)) is not None}
    return {
        "kind": kind,
        "dataCollectionId": row["dc"],
        "proposalId": row["proposalId"],
        "sessionId": row["sessionId"],
        "values": kept,
        "source": f"sql:{table}",
        "idempotencyKey": f"sql:{table}:{row_id}",
    }


async def scaling(conn: AsyncConnection, schema: SchemaInfo) -> AsyncIterator[list[Doc]]:
    """``mx.scaling`` documents from AutoProcScalingStatistics, in batches."""
    cc_anomalous = schema.optional("AutoProcScalingStatistics", "ccAnomalous")
    query = (
        select(
            AutoProcScalingStatistics.autoProcScalingStatisticsId.label("id"),
            AutoProcScalingStatistics.scalingStatisticsType.label("shell"),
            *[getattr(AutoProcScalingStatistics, column).label(field) for field, column in SCALING.items()],
            cc_anomalous,
            AutoProcIntegration.dataCollectionId.label("dc"),
            BLSession.proposalId,
            BLSession.sessionId,
        )
        .join(
            AutoProcScalingHasInt,
            AutoProcScalingHasInt.autoProcScalingId == AutoProcScalingStatistics.autoProcScalingId,
        )
        .join(
            AutoProcIntegration,
            AutoProcIntegration.autoProcIntegrationId == AutoProcScalingHasInt.autoProcIntegrationId,
        )
        .join(DataCollection, DataCollection.dataCollectionId == AutoProcIntegration.dataCollectionId)
        .join(DataCollectionGroup, DataCollectionGroup.dataCollectionGroupId == DataCollection.dataCollectionGroupId)
        .join(BLSession, BLSession.sessionId == DataCollectionGroup.sessionId)
        .order_by(AutoProcScalingStatistics.autoProcScalingStatisticsId)
    )
    fields = [*SCALING, "ccAnomalous"]
    stream = await conn.stream(query.execution_options(yield_per=BATCH))
    async for rows in stream.mappings().partitions(BATCH):
        yield [
            _doc(
                "mx.scaling", "AutoProcScalingStatistics", r["id"], r, {f: r[f] for f in fields}, {"shell": r["shell"]}
            )
            for r in rows
        ]


def _tables(conn: Connection) -> dict[str, Table]:
    names = set(inspect(conn).get_table_names())
    meta = MetaData()
    wanted = ("MotionCorrection", "CTF", "ParticlePicker", "Movie")
    return {n: Table(n, meta, autoload_with=conn) for n in wanted if n in names}


def _pick(table: Table, fields: Mapping[str, tuple[str, ...]]) -> list[Any]:
    columns = []
    for field, candidates in fields.items():
        column = next((table.c[c] for c in candidates if c in table.c), None)
        if column is not None:
            columns.append(column.label(field))
    return columns


async def electron_microscopy(conn: AsyncConnection) -> AsyncIterator[list[Doc]]:
    """``em.motioncorrection``, ``em.ctf`` and ``em.particlepicking`` documents where the tables exist."""
    tables = await conn.run_sync(_tables)
    mc = tables.get("MotionCorrection")
    if mc is None:
        return
    movie = tables.get("Movie")
    if "dataCollectionId" in mc.c:
        dc_column, number = mc.c.dataCollectionId, mc.c.imageNumber if "imageNumber" in mc.c else None
        source: Any = mc
    elif movie is not None:
        dc_column, number = movie.c.dataCollectionId, movie.c.movieNumber
        source = mc.join(movie, movie.c.movieId == mc.c.movieId)
    else:
        return
    owner = collection_owners().subquery()
    base = [
        mc.c.motionCorrectionId.label("mc"),
        owner.c.dataCollectionId.label("dc"),
        owner.c.proposalId,
        owner.c.sessionId,
    ]
    image = [number.label("imageNumber")] if number is not None else []
    motion = _pick(mc, MOTION)
    jobs: list[tuple[str, str, Any, Any, list[Any], Callable[[Any], int]]] = [
        ("em.motioncorrection", "MotionCorrection", mc.c.motionCorrectionId, source, motion, lambda r: r["mc"])
    ]
    if (ctf := tables.get("CTF")) is not None:
        pk = ctf.c.ctfId if "ctfId" in ctf.c else ctf.c.CTFid
        joined = source.join(ctf, ctf.c.motionCorrectionId == mc.c.motionCorrectionId)
        jobs.append(("em.ctf", "CTF", pk, joined, [pk.label("row"), *_pick(ctf, CTF)], lambda r: r["row"]))
    if (picker := tables.get("ParticlePicker")) is not None:
        pk = picker.c.particlePickerId
        joined = source.join(picker, picker.c.firstMotionCorrectionId == mc.c.motionCorrectionId)
        jobs.append(("em.particlepicking", "ParticlePicker", pk, joined, [pk.label("row"), *_pick(picker, PICKER)],
                     lambda r: r["row"]))  # fmt: skip
    for kind, table, pk, joined, columns, row_id in jobs:
        query = (
            select(*base, *image, *columns)
            .select_from(joined.join(owner, owner.c.dataCollectionId == dc_column))
            .order_by(pk)
        )
        fields = [c.name for c in [*image, *columns] if c.name != "row"]
        stream = await conn.stream(query.execution_options(yield_per=BATCH))
        async for rows in stream.mappings().partitions(BATCH):
            yield [_doc(kind, table, row_id(r), r, {f: r[f] for f in fields}) for r in rows]
