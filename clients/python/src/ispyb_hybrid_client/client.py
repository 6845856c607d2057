"""The HTTP client: every POST carries an idempotency key, so its retries never store anything twice; a PATCH
(which appends attachments) has none, so it is retried only when it never reached the server."""

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import httpx

from ispyb_hybrid_client.models import BulkReport, MetricIn, Result, ResultCreate, ResultPatch

PREFIX = "/ispyb/api/v1"
RETRY_STATUSES = {502, 503, 504}
#: failures before a single byte was sent: safe to retry whatever the request
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class IspybError(Exception):
    """The service answered with a problem (RFC 9457); ``problem`` holds its body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', problem)}")
        self.status, self.problem = status, problem


class IspybClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.Client | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 60.0,
    ) -> None:
        """``http``: a client of your own (tests pass the app's TestClient); ``retries`` of connection errors and
        502/503/504, waiting ``backoff`` seconds doubled each time (or the server's Retry-After)."""
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.retries, self.backoff = retries, backoff

    def __enter__(self) -> "IspybClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def _send(self, method: str, path: str, key: str | None = None, *, replayable: bool = True, **kw: Any) -> Any:
        """Send, retrying connection errors and 502/503/504. A request that is not ``replayable`` (the server may
        have applied it although its answer was lost, and a second time would apply it again) is retried only
        when it never left: any answer, or a failure once sent, is the caller's to check."""
        headers = self.headers | ({"Idempotency-Key": key} if key else {}) | kw.pop("headers", {})
        wait = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, PREFIX + path, headers=headers, **kw)
            except httpx.TransportError as exc:
                if attempt == self.retries or not (replayable or isinstance(exc, NEVER_SENT)):
                    raise
            else:
                last = attempt == self.retries or not replayable
                if response.status_code not in RETRY_STATUSES or last:
                    if response.status_code >= 400:
                        raise IspybError(response.status_code, _problem(response))
                    return response.json()
                wait = float(response.headers.get("Retry-After", wait))
            time.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")

    def post_result(self, result: ResultCreate | dict[str, Any], key: str | None = None) -> Result:
        """Store a result (a new version if its series exists); retried under one idempotency key."""
        body = result if isinstance(result, ResultCreate) else ResultCreate.model_validate(result)
        payload = body.model_dump(mode="json", exclude_none=True)
        return Result.model_validate(self._send("POST", "/results", key or str(uuid.uuid4()), json=payload))

    def update_result(self, result_id: str, **changes: Any) -> Result:
        """Progress of a running result: ``status``, ``data`` (keys set one by one), ``attachments`` (appended).
        Not retried once sent: a lost answer could otherwise append the attachments twice. On a 502/503/504 or a
        broken connection, read the result (``GET /results/{id}``) to see whether the change landed."""
        payload = ResultPatch.model_validate(changes).model_dump(mode="json", exclude_unset=True)
        return Result.model_validate(self._send("PATCH", f"/results/{result_id}", replayable=False, json=payload))

    def send_metrics(self, metrics: Iterable[MetricIn | dict[str, Any]], batch: int = 5000) -> BulkReport:
        """Stream metrics as NDJSON in batches; each batch is retried under its own idempotency key. Plain dicts
        are sent as they are, so the service judges each line on its own; line numbers in the report count from
        the first metric sent."""
        total = BulkReport(lines=0, accepted=0, duplicates=0, rejected=[])
        for chunk in _batches(metrics, batch):
            body = "\n".join(_line(m) for m in chunk).encode()
            report = BulkReport.model_validate(self._send("POST", "/metrics/bulk", str(uuid.uuid4()), content=body))
            for rejection in report.rejected:
                rejection.line += total.lines
            total.lines += len(chunk)
            total.accepted += report.accepted
            total.duplicates += report.duplicates
            total.rejected += report.rejected
        return total

    def datacollection(self, dc_id: int, include: Iterable[str] = ("results", "metrics")) -> dict[str, Any]:
        """The collection with its SQL auto-processing and its documents, as the service's JSON (the OpenAPI's
        ``DataCollectionUnified``: ISPyB's wide row, left unmodelled here)."""
        parts = ",".join(include)
        return dict(self._send("GET", f"/datacollections/{dc_id}", params={"include": parts} if parts else None))


def _line(metric: MetricIn | dict[str, Any]) -> str:
    if isinstance(metric, MetricIn):
        return metric.model_dump_json(exclude_none=True)
    return json.dumps(metric, allow_nan=False)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text}
    return body if isinstance(body, dict) else {"detail": body}
