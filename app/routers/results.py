"""Results, metrics and the result-kind registry, kept in the document store and scoped like everything else."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response, status

from app.deps import DocumentsDep, IdentityDep, PageDep, ReadSessionDep, StateDep
from app.problems import AUTHENTICATED, DOCUMENT_STORE, responses
from app.routers.lists import listed
from app.routers.params import IdFilter, ProposalFilter, ResultId
from app.routers.routing import Router
from app.routers.valid import KindDep, ResultDep, result_of
from app.services import results as service
from documents import kinds, metrics, results
from schemas.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from schemas.results import (
    RANGE,
    BulkReport,
    Kind,
    KindCreate,
    KindInfo,
    MetricPage,
    Result,
    ResultCreate,
    ResultPage,
    ResultPatch,
    Status,
    unit_fields,
)

ERRORS = responses(*AUTHENTICATED, *DOCUMENT_STORE)
router = Router(prefix="/results", tags=["Results"], responses=ERRORS)
metric_router = Router(prefix="/metrics", tags=["Results"], responses=ERRORS)
kind_router = Router(prefix="/result-kinds", tags=["Results"], responses=ERRORS)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


async def _limit_body(request: Request, state: StateDep) -> None:
    if len(await request.body()) > state.settings.document_max_bytes:
        raise PayloadTooLarge(f"The document is over the {state.settings.document_max_bytes}-byte limit")


@router.post(
    "",
    response_model=Result,
    status_code=status.HTTP_201_CREATED,
    responses=responses(NotFound, Conflict, PayloadTooLarge, InvalidInput),
)
async def create_result(
    data: ResultCreate,
    request: Request,
    response: Response,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Store a result over one or more data collections. A re-run of the same kind and program over the same
    collections becomes the next version; a retried POST (same Idempotency-Key or runId) returns the first (200)."""
    await _limit_body(request, state)
    doc, created = await service.write_result(db, documents, identity, state.settings, data, idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return doc


@dataclass(frozen=True)
class DocFilters:
    """The filters results and metrics share."""

    dataCollectionId: IdFilter = None
    sessionId: IdFilter = None
    proposal: ProposalFilter = None
    kind: Kind | None = None


Filters = Annotated[DocFilters, Depends()]


@router.get("", response_model=ResultPage, responses=responses(NotFound))
async def get_results(
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    page: PageDep,
    f: Filters,
    program: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    allVersions: bool = False,
) -> dict[str, Any]:
    """Results the caller may see, newest first; the latest version of each series unless ``allVersions``."""
    scope = await service.visible(db, identity, f.proposal)
    total, estimate, rows = await results.find(
        await documents.ready(),
        scope,
        dc_id=f.dataCollectionId,
        session_id=f.sessionId,
        kind=f.kind,
        program=program,
        status=status,
        all_versions=allVersions,
        skip=page.skip,
        limit=page.limit,
        count_ms=state.settings.mongo_count_timeout_ms,
    )
    return listed(rows, total, page, estimate)


@router.get("/{resultId}", response_model=Result, responses=responses(NotFound))
async def get_result(result: ResultDep) -> dict[str, Any]:
    """One result (any version)."""
    return result


@router.get("/{resultId}/versions", response_model=list[Result], responses=responses(NotFound))
async def get_versions(result: ResultDep, documents: DocumentsDep) -> list[dict[str, Any]]:
    """Every version of the result's series, oldest first."""
    return await results.versions(documents.db, result)


@router.patch(
    "/{resultId}", response_model=Result, responses=responses(NotFound, Conflict, PayloadTooLarge, InvalidInput)
)
async def update_result(
    resultId: ResultId,
    patch: ResultPatch,
    request: Request,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
) -> dict[str, Any]:
    """Progress of a running result: status, data keys (each `$set` on its own), attachments appended."""
    await _limit_body(request, state)
    service.check_json(patch.data, state.settings, "data")
    found = await result_of(db, identity, documents, resultId)
    return await service.update_result(db, documents, identity, state.settings, found, patch)


@metric_router.post("/bulk", response_model=BulkReport, responses=responses(NotFound, PayloadTooLarge, InvalidInput))
async def ingest_metrics(
    request: Request,
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    idempotency_key: IdempotencyKey = None,
) -> BulkReport:
    """NDJSON, one metric per line (`{kind, dataCollectionId, values}`), streamed and stored in batches; each line
    is accepted or rejected on its own. With an Idempotency-Key a retried upload stores nothing twice."""
    lines = request.stream()
    return await service.ingest_metrics(db, documents, identity, state.settings, lines, idempotency_key)


@metric_router.get("", response_model=MetricPage, responses=responses(NotFound, InvalidInput))
async def get_metrics(
    identity: IdentityDep,
    db: ReadSessionDep,
    state: StateDep,
    documents: DocumentsDep,
    page: PageDep,
    f: Filters,
    resultId: Annotated[str | None, Query(pattern=r"^[0-9a-f]{24}$")] = None,
    range: Annotated[list[str] | None, Query(description="`field:min:max` on `values` (a bound may be empty)")] = None,
) -> dict[str, Any]:
    """Metrics the caller may see, filtered like results and by value ranges."""
    scope = await service.visible(db, identity, f.proposal)
    ranges = [_range(spec) for spec in range or []]
    total, estimate, rows = await metrics.find(
        await documents.ready(),
        scope,
        dc_id=f.dataCollectionId,
        session_id=f.sessionId,
        kind=f.kind,
        result_id=resultId,
        ranges=ranges,
        skip=page.skip,
        limit=page.limit,
        count_ms=state.settings.mongo_count_timeout_ms,
    )
    return listed(rows, total, page, estimate)


def _range(spec: str) -> metrics.Range:
    """``field:min:max`` as the field and its bounds (an empty bound: open); 422 if it is not."""
    match = RANGE.match(spec)
    if not match:
        raise InvalidInput(f"range `{spec}` is not `field:min:max`")
    field, low, high = match.groups()
    try:
        return field, float(low) if low else None, float(high) if high else None
    except ValueError:
        raise InvalidInput(f"range `{spec}` has a bound that is not a number") from None


def _info(entry: dict[str, Any]) -> dict[str, Any]:
    return entry | {"fields": unit_fields(entry["schema"])}


@kind_router.get("", response_model=list[KindInfo])
async def get_kinds(identity: IdentityDep, documents: DocumentsDep) -> list[dict[str, Any]]:
    """Registered kinds: built-in and staff-registered."""
    return [_info(k) for k in await kinds.list_kinds(await documents.ready())]


@kind_router.get("/{kind}", response_model=KindInfo, responses=responses(NotFound))
async def get_kind(identity: IdentityDep, entry: KindDep) -> dict[str, Any]:
    """A kind's JSON Schema and the description and unit of each field."""
    return _info(entry)


@kind_router.post(
    "",
    response_model=KindInfo,
    status_code=status.HTTP_201_CREATED,
    responses=responses(Forbidden, Conflict, InvalidInput),
)
async def register_kind(data: KindCreate, identity: IdentityDep, documents: DocumentsDep) -> dict[str, Any]:
    """Staff only: register a kind's JSON Schema (draft 2020-12); writes of that kind are then validated."""
    if not identity.scope.is_staff:
        raise Forbidden("Only facility staff register result kinds")
    entry = {"kind": data.kind, "target": data.target, "title": data.title, "schema": data.jsonSchema}
    await kinds.register(await documents.ready(), entry, identity.personId)
    return _info(entry | {"builtin": False})
