"""The pipeline client against the real app (its TestClient as transport): results, metrics, unified reads, and
retries that never store twice."""

from typing import Any

import httpx
import pytest
from ispyb_hybrid_client import IspybClient, IspybError

from tests.conftest import Flavour
from tests.test_shipping import uid


@pytest.fixture
def ispyb(flavour: Flavour) -> IspybClient:
    token = flavour.token("sci_a")["Authorization"].split()[1]
    return IspybClient("http://testserver", token, http=flavour.client, backoff=0.01)


def test_a_pipeline_round_trip(flavour: Flavour, ispyb: IspybClient) -> None:
    dc = flavour.data.dcs["a1"]
    program = f"client-{uid()}"
    made = ispyb.post_result({"kind": "mx.autoproc", "program": {"name": program}, "dataCollectionIds": [dc]})
    done = ispyb.update_result(made.resultId, status="success", data={"resolution": 1.7})
    assert (done.status, done.data) == ("success", {"resolution": 1.7})
    metrics: list[dict[str, Any]] = [
        {"kind": "mx.image", "dataCollectionId": dc, "values": {"imageNumber": i, "spotCount": i * 2}}
        for i in range(1, 26)
    ]
    metrics[9]["values"]["spotCount"] = "many"
    report = ispyb.send_metrics(metrics, batch=10)
    assert (report.lines, report.accepted) == (25, 24) and [r.line for r in report.rejected] == [10]
    unified = ispyb.datacollection(dc)
    assert program in {r["program"]["name"] for r in unified["documents"]["results"]}
    with pytest.raises(IspybError) as refused:
        ispyb.post_result(
            {"kind": "mx.autoproc", "program": {"name": "x"}, "dataCollectionIds": [flavour.data.dcs["b0"]]}
        )
    assert refused.value.status == 404


class Flaky(httpx.BaseTransport):
    """Answers 503 to the first two attempts after passing them through (the write happened, the answer was lost)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.calls = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        response = self.inner.handle_request(request)
        if self.calls <= 2:
            response.read()
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"title": "lost"})
        return response


def test_retries_reuse_the_idempotency_key(flavour: Flavour, ispyb: IspybClient) -> None:
    flaky = Flaky(flavour.client._transport)
    ispyb.http = httpx.Client(transport=flaky, base_url="http://testserver")
    program = f"flaky-{uid()}"
    made = ispyb.post_result(
        {"kind": "mx.autoproc", "program": {"name": program}, "dataCollectionIds": [flavour.data.dcs["a0"]]}
    )
    assert flaky.calls == 3 and made.version == 1
    found = flavour.client.get("/ispyb/api/v1/results", params={"program": program}, headers=flavour.token("sci_a"))
    assert found.json()["total"] == 1


class Unreachable(httpx.BaseTransport):
    """Refuses the first connection (nothing sent), then passes requests through."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.calls = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


def _running(flavour: Flavour, ispyb: IspybClient) -> str:
    made = ispyb.post_result(
        {"kind": "mx.autoproc", "program": {"name": f"patch-{uid()}"}, "dataCollectionIds": [flavour.data.dcs["a0"]]}
    )
    return made.resultId


def _attachments(flavour: Flavour, result_id: str) -> list[str]:
    r = flavour.client.get(f"/ispyb/api/v1/results/{result_id}", headers=flavour.token("sci_a"))
    return [a["path"] for a in r.json()["attachments"]]


def test_a_patch_whose_answer_is_lost_is_not_sent_again(flavour: Flavour, ispyb: IspybClient) -> None:
    """The PATCH appends: once it reached the server, a lost answer is reported, never replayed."""
    result_id = _running(flavour, ispyb)
    flaky = Flaky(flavour.client._transport)
    ispyb.http = httpx.Client(transport=flaky, base_url="http://testserver")
    with pytest.raises(IspybError) as lost:
        ispyb.update_result(result_id, attachments=[{"path": "/data/a.log"}])
    assert lost.value.status == 503 and flaky.calls == 1
    assert _attachments(flavour, result_id) == ["/data/a.log"]


def test_a_patch_that_never_left_is_retried(flavour: Flavour, ispyb: IspybClient) -> None:
    result_id = _running(flavour, ispyb)
    unreachable = Unreachable(flavour.client._transport)
    ispyb.http = httpx.Client(transport=unreachable, base_url="http://testserver")
    done = ispyb.update_result(result_id, attachments=[{"path": "/data/b.log"}])
    assert unreachable.calls == 2 and [a.path for a in done.attachments] == ["/data/b.log"]
    assert _attachments(flavour, result_id) == ["/data/b.log"]
