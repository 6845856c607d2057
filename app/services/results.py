"""Result and metric writes, checked against SQL; the document filter of what a caller sees, read from SQL.

A data collection referenced by a document must exist in SQL and lie in a proposal the caller may write to: one
they are a member of (ProposalHasPerson or Session_has_Person), or any with the processing-write permission.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from app import json_guard
from app.deps import Identity, document_scope
from app.settings import MIN_UNFOLDED_SECONDS, Settings
from documents import kinds, metrics, results, rollups
from documents.idempotency import digest
from documents.scope import of_proposal
from documents.store import DocumentStore
from relational.reach import collections_owned, proposal_id_by_name, sessions_among
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import Forbidden, InvalidInput, NotFound
from schemas.results import BulkRejection, BulkReport, MetricIn, ResultCreate, ResultPatch, json_problems
from schemas.times import utc_now

BATCH = 5000
#: a metric line: its number, the metric, and when it has a key (its own ``key``, or the request's and its number)
#: that key and what makes a line sent again under it the same line: the digest of its JSON value (key order, spacing
#: and escapes aside), then that of its bytes (what lines stored before 2026-12-07 carry)
Line = tuple[int, MetricIn, tuple[str, str, str] | None]
#: a line ready to store: its number, its document, and its digests (none without a key)
Ready = tuple[int, dict[str, Any], tuple[str, ...]]


class Owners:
    """Who owns the data collections a request names, and whether the caller may write documents about them;
    decisions are kept for the request (a bulk upload names the same collections again and again)."""

    def __init__(self, db: ReadSession, identity: Identity, settings: Settings) -> None:
        self.db, self.identity = db, identity
        self.pipeline = settings.processing_write_permission in identity.permissions
        self.owner: dict[int, tuple[int, int]] = {}
        self.refusal: dict[int, str] = {}
        self.result_dcs: dict[str, list[int] | None] = {}  # resultId → its collections (None: no such result)

    async def learn(self, ids: set[int]) -> None:
        """Resolve the collections not seen yet."""
        new = sorted(ids - set(self.owner) - set(self.refusal))
        if not new:
            return
        owned = await collections_owned(self.db, new)
        for dc in set(new) - set(owned):
            self.refusal[dc] = f"data collection {dc} not found"
        if self.pipeline:
            self.owner |= owned
            return
        sessions = sorted({s for _, s in owned.values()})
        visible = await sessions_among(self.db, self.identity.scope, sessions)
        member = await sessions_among(self.db, Scope(person_id=self.identity.personId), sessions)
        for dc, (proposal, session) in owned.items():
            if session not in visible:
                self.refusal[dc] = f"data collection {dc} not found"
            elif session not in member:
                self.refusal[dc] = f"data collection {dc}: only the proposal's members or pipelines write its results"
            else:
                self.owner[dc] = (proposal, session)

    async def learn_results(self, docs: Any, ids: set[str]) -> None:
        """Resolve the results (named by metric lines) not seen yet, and their collections."""
        if new := ids - set(self.result_dcs):
            found = await results.collections_of(docs, sorted(new))
            self.result_dcs |= {rid: found.get(rid) for rid in new}
            await self.learn({dc for dcs in found.values() for dc in dcs})

    def result_refusal(self, result_id: str, dc: int) -> str | None:
        """Why a metric about ``dc`` may not name this result: the caller must be able to write the result (the
        rule for writing its collections), and the result must cover ``dc``."""
        dcs = self.result_dcs[result_id]
        refused = next((self.refusal[d] for d in dcs or () if d in self.refusal), None)
        if dcs is None or (refused and "not found" in refused):
            return f"result {result_id} not found"
        if refused:
            return f"result {result_id}: {refused}"
        return None if dc in dcs else f"result {result_id} does not cover data collection {dc}"

    async def check(self, ids: list[int]) -> tuple[int, list[int]]:
        """(proposalId, sessionIds) of collections the caller may write about; 404/403/422 otherwise."""
        await self.learn(set(ids))
        for dc in ids:
            if dc in self.refusal:
                message = self.refusal[dc]
                raise NotFound(message) if "not found" in message else Forbidden(message)
        proposals = {self.owner[dc][0] for dc in ids}
        if len(proposals) > 1:
            raise InvalidInput(f"A result belongs to one proposal; these collections span {sorted(proposals)}")
        return proposals.pop(), sorted({self.owner[dc][1] for dc in ids})


def check_json(value: dict[str, Any], settings: Settings, name: str) -> None:
    if problems := json_problems(value, settings.document_max_depth, f"$.{name}"):
        raise InvalidInput(f"`{name}` cannot be stored: " + "; ".join(problems[:20]))


async def write_result(
    db: ReadSession, store: DocumentStore, identity: Identity, settings: Settings, data: ResultCreate, key: str | None
) -> tuple[dict[str, Any], bool]:
    """Check a result's references, shape and kind, then store it (or find the first one under its key)."""
    check_json(data.parameters, settings, "parameters")
    check_json(data.data, settings, "data")
    proposal_id, session_ids = await Owners(db, identity, settings).check(data.dataCollectionIds)
    docs = await store.ready()
    if problems := await kinds.Checker(docs, settings.strict_kinds).check(data.kind, "result", data.data):
        raise InvalidInput(f"`data` does not fit kind `{data.kind}`: " + "; ".join(problems))
    author = {"personId": identity.personId, "login": identity.login}
    return await results.create(
        docs, data, proposal_id=proposal_id, session_ids=session_ids, author=author, idempotency_key=key
    )


async def update_result(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    settings: Settings,
    found: dict[str, Any],
    patch: ResultPatch,
) -> dict[str, Any]:
    """Apply a progress patch to a result the caller sees, if they may write about its collections (SQL)."""
    await Owners(db, identity, settings).check(found["dataCollectionIds"])
    return await results.update(store.db, found, patch)


async def visible(db: ReadSession, identity: Identity, proposal: str | None) -> dict[str, Any]:
    """The caller's document filter (their reach, read from SQL), narrowed to one proposal if asked (still only its
    sessions they reach); 404 for a proposal they do not reach."""
    scope = await document_scope(db, identity.scope)
    return of_proposal(scope, await proposal_id_by_name(db, identity.scope, proposal) if proposal else None)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


async def ingest_metrics(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    settings: Settings,
    lines: AsyncIterator[bytes],
    key: str | None,
) -> BulkReport:
    """Stream NDJSON metrics in batches; each line is accepted or rejected on its own (with its number)."""
    docs = await store.ready()
    owners = Owners(db, identity, settings)
    checker = kinds.Checker(docs, settings.strict_kinds)
    report = BulkReport(lines=0, accepted=0, duplicates=0, rejected=[])
    batch: list[Line] = []
    async for number, line in _numbered(lines, settings.document_max_bytes):
        report.lines = number
        if isinstance(line, str):
            report.rejected.append(BulkRejection(line=number, reason=line))
            continue
        if reason := await json_guard.refused(line, settings.json_max_depth):
            report.rejected.append(BulkRejection(line=number, reason=reason))
            continue
        try:
            value = json.loads(line, parse_constant=_no_constants)
            metric = MetricIn.model_validate(value)
        except (ValueError, ValidationError) as exc:
            report.rejected.append(BulkRejection(line=number, reason=_reason(exc)))
            continue
        line_key = metric.key or (f"{key}:{number}" if key else None)
        keyed = (line_key, digest(value), hashlib.sha256(line.strip()).hexdigest()) if line_key else None
        batch.append((number, metric, keyed))
        if len(batch) >= BATCH:
            await _store_batch(docs, owners, checker, identity, settings, batch, key, report)
            batch = []
    await _store_batch(docs, owners, checker, identity, settings, batch, key, report)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors()[:5])
    return f"not JSON: {exc}"


async def _numbered(lines: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[tuple[int, bytes | str]]:
    """Non-blank lines with their numbers; an oversized line comes as the reason it is refused."""
    number, pending = 0, b""
    async for chunk in lines:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            if line.strip():
                yield number, (line if len(line) <= max_bytes else f"over the {max_bytes}-byte document limit")
        if len(pending) > max_bytes:
            raise InvalidInput(f"Line {number + 1} is over the {max_bytes}-byte document limit")
    if pending.strip():
        yield number + 1, pending


async def _store_batch(
    docs: Any,
    owners: Owners,
    checker: kinds.Checker,
    identity: Identity,
    settings: Settings,
    batch: list[Line],
    key: str | None,
    report: BulkReport,
) -> None:
    await owners.learn({m.dataCollectionId for _, m, _ in batch})
    await owners.learn_results(docs, {m.resultId for _, m, _ in batch if m.resultId})
    fold = rollups.new_fold()  # the rollup update this batch makes, applied once per rollup
    ready: list[Ready] = []
    for number, metric, keyed in batch:
        problems = json_problems(metric.values, settings.document_max_depth, "$.values")
        if metric.resultId and (refusal := owners.result_refusal(metric.resultId, metric.dataCollectionId)):
            problems.insert(0, refusal)
        if metric.dataCollectionId in owners.refusal:
            problems.insert(0, owners.refusal[metric.dataCollectionId])
        if not problems:
            problems = await checker.check(metric.kind, "metric", metric.values)
        if problems:
            report.rejected.append(BulkRejection(line=number, reason="; ".join(problems[:5])))
            continue
        proposal, session = owners.owner[metric.dataCollectionId]
        doc = metric.model_dump(exclude={"key"}) | {
            "proposalId": proposal,
            "sessionId": session,
            "createdBy": identity.personId,
            "createdAt": utc_now(),
            "fold": fold,
        }
        if keyed:
            doc |= {"idempotencyKey": f"{identity.personId}:{keyed[0]}", "idempotencyRequest": keyed[1]}
        ready.append((number, doc, keyed[1:] if keyed else ()))
    for _, doc, _ in ready:  # how many metrics make the batch whole: another may fold it then (``fold_pending``)
        doc["foldSize"] = len(ready)
    stored, duplicates, refused = await metrics.insert(docs, [d for _, d, _ in ready])
    await rollups.fold_once(docs, fold, [d for i, (_, d, _) in enumerate(ready) if i not in duplicates | set(refused)])
    if duplicates:  # a retry: fold what an interrupted first attempt stored and did not fold
        keys = [ready[i][1]["idempotencyKey"] for i in duplicates]
        await rollups.fold_pending(docs, keys, utc_now() - timedelta(seconds=MIN_UNFOLDED_SECONDS))
        refused |= await _reused(docs, ready, duplicates)
        duplicates -= set(refused)
    report.accepted += stored
    report.duplicates += len(duplicates)
    report.rejected += [BulkRejection(line=ready[i][0], reason=why) for i, why in refused.items()]


async def _reused(docs: Any, ready: list[Ready], duplicates: set[int]) -> dict[int, str]:
    """Of the lines found stored under their key (``duplicates``, positions in ``ready``), those whose key holds
    another line (a stored digest that is neither of the line's): refused, with why (a retry sends the same lines;
    the line stored first stays)."""
    stored = await metrics.requests_of(docs, [ready[i][1]["idempotencyKey"] for i in duplicates])
    why = "its key (`key`, or the Idempotency-Key and the line's number) holds another line already; nothing stored"
    return {i: why for i in duplicates if stored.get(ready[i][1]["idempotencyKey"], ready[i][2][0]) not in ready[i][2]}
