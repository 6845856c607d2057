"""Values at their limits on the document routes, on both flavours: integers beyond 8 bytes, JSON nested far
too deep (on every kind of JSON route, and per NDJSON line), naive and aware datetimes, and metric lines naming
results; each answers a clear 4xx (or one rejected line), never a 500 or a reset connection."""

import json
from typing import Any

import pytest

from tests.conftest import Flavour
from tests.test_results import result, three_collections
from tests.test_shipping import Caller, uid

API = "/ispyb/api/v1"
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)


def ctf(dc: int, value: Any, kind: str = "em.ctf", **extra: Any) -> str:
    """One metric line, its raw JSON text (``value`` may be an integer JSON cannot round-trip through floats)."""
    return json.dumps({"kind": kind, "dataCollectionId": dc, "values": {"imageNumber": value}} | extra)


@pytest.mark.parametrize("value", [2**63, 2**64, INT64_MIN - 1, -(2**64)])
def test_results_beyond_8_bytes_are_refused_with_their_path(flavour: Flavour, value: int) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    body = result([dc], f"p-{uid()}", data={"deep": {"list": [1, value]}})
    assert "$.data.deep.list[1]" in sci("POST", "/results", 422, json=body)["detail"]
    assert "$.parameters.n" in sci("POST", "/results", 422, json=result([dc], "p", parameters={"n": value}))["detail"]
    sweep = {"dataCollectionId": dc, "imageStart": abs(value)}
    sci("POST", "/results", 422, json=result([dc], "p", sweeps=[sweep]))
    made = sci("POST", "/results", 201, json=result([dc], f"p-{uid()}"))
    assert "$.data.n" in sci("PATCH", f"/results/{made['resultId']}", 422, json={"data": {"n": value}})["detail"]


def test_results_at_the_8_byte_limits_are_stored(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    data = {"max": INT64_MAX, "min": INT64_MIN, "nested": [[[[INT64_MAX]]]]}
    made = sci("POST", "/results", 201, json=result([dc], f"p-{uid()}", data=data))
    assert sci("GET", f"/results/{made['resultId']}", 200)["data"] == data


def test_nan_and_infinity_are_refused_everywhere(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        raw = json.dumps(result([dc], "p")).replace('"kind"', f'"data": {{"x": {literal}}}, "kind"')
        headers = {"content-type": "application/json"}
        assert "$.data.x" in sci("POST", "/results", 422, content=raw, headers=headers)["detail"]
        line = ctf(dc, 1).replace("1}", f"{literal}}}")
        report = sci("POST", "/metrics/bulk", 200, content="\n".join([ctf(dc, 1), line, ctf(dc, 2)]))
        assert (report["accepted"], [r["line"] for r in report["rejected"]]) == (2, [2]), report


def test_a_metric_line_beyond_8_bytes_is_rejected_alone(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over several batches: the bad lines are reported with their numbers, every other line is stored."""
    monkeypatch.setattr("app.services.results.BATCH", 4)
    sci, dcs = Caller(flavour, "sci_a"), three_collections(flavour, member=True)
    values = [1, 2**63, INT64_MAX, 3, INT64_MIN, INT64_MIN - 1, 4, 2**64, 5, 6, 7]
    lines = [ctf(dcs[0], v, "x.limits") for v in values] + [""]
    report = sci("POST", "/metrics/bulk", 200, content="\n".join(lines), headers={"Idempotency-Key": uid()})
    assert report["accepted"] == 8 and [r["line"] for r in report["rejected"]] == [2, 6, 8], report
    assert "8-byte" in report["rejected"][0]["reason"]
    stored = sci("GET", "/metrics", 200, params={"dataCollectionId": dcs[0], "limit": 100})
    assert sorted(m["values"]["imageNumber"] for m in stored["results"]) == sorted(
        v for v in values if INT64_MIN <= v <= INT64_MAX
    )


def nested(depth: int, bracket: str) -> str:
    if bracket == "[":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


BODY_ROUTES = [("POST", "/results"), ("POST", "/query/find"), ("POST", "/shippings"), ("POST", "/samples")]


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
@pytest.mark.parametrize("bracket", ["[", "{"])
def test_json_nested_too_deep_is_refused_on_every_json_route(flavour: Flavour, depth: int, bracket: str) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    for method, path in BODY_ROUTES:
        for content_type in ({"content-type": "application/json"}, {}):
            answer = sci(method, path, 422, content=nested(depth, bracket), headers=content_type)
            assert "deeper than" in answer["detail"], (path, answer)
    inside = json.dumps(result([dc], "p")).replace('"kind"', f'"data": {{"x": {nested(depth, bracket)}}}, "kind"')
    sci("POST", "/results", 422, content=inside, headers={"content-type": "application/json"})
    line = json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": {}})[:-1] + f', "x": {nested(depth, "[")}}}'
    report = sci("POST", "/metrics/bulk", 200, content="\n".join([ctf(dc, 1), line, ctf(dc, 2)]))
    assert report["accepted"] == 2 and [r["line"] for r in report["rejected"]] == [2], report
    assert "deeper than" in report["rejected"][0]["reason"]
    assert flavour.client.get(f"{API}/health").status_code == 200


def test_nesting_under_the_limits_and_brackets_in_strings_pass(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    deep_data = json.loads(nested(flavour.settings.document_max_depth - 1, "["))
    brackets = "[{" * 50_000
    made = sci("POST", "/results", 201, json=result([dc], f"p-{uid()}", data={"x": deep_data, "s": brackets}))
    assert made["data"]["s"] == brackets and made["data"]["x"] == deep_data
    sci("POST", "/results", 422, json=result([dc], "p", data={"x": json.loads(nested(25, "["))}))


def test_a_metric_line_of_exactly_the_size_limit(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    limit = flavour.settings.document_max_bytes
    short = json.dumps({"kind": "x.free", "dataCollectionId": dc, "values": {"s": ""}})
    exact = short.replace('""', '"' + "a" * (limit - len(short)) + '"')
    over = exact.replace('"a', '"aa', 1)
    assert len(exact.encode()) == limit
    report = sci("POST", "/metrics/bulk", 200, content="\n".join(["", exact, "", over, "  ", exact]))
    assert report["accepted"] == 2 and [r["line"] for r in report["rejected"]] == [4], report


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T00:00:00", "2026-12-31T00:00:00+02:00"),
        ("2026-01-01T00:00:00-05:00", "2026-12-31T00:00:00"),
        ("2026-01-01T00:00:00Z", "2026-12-31T00:00:00+14:00"),
    ],
)
def test_naive_and_aware_bounds_mean_utc(flavour: Flavour, start: str, end: str) -> None:
    sci = Caller(flavour, "sci_a")
    params = {"kind": "em.ctf", "field": "estimatedResolution", "from": start, "to": end}
    for interval in ("minute", "hour", "day"):
        sci("GET", "/stats/metrics/timeseries", 200, params=params | {"interval": interval, "to": "2026-01-01T12:00"})
        sci("GET", "/stats/metrics/timeseries", 200, params=params | {"interval": "hour"})
    for route in ("histogram", "summary"):
        sci("GET", f"/stats/metrics/{route}", 200, params=params)


def test_datetimes_out_of_range_in_utc_are_refused(flavour: Flavour) -> None:
    sci = Caller(flavour, "sci_a")
    params = {"kind": "em.ctf", "field": "estimatedResolution"}
    sci("GET", "/stats/metrics/histogram", 422, params=params | {"from": "0001-01-01T00:00:00+14:00"})
    sci("GET", "/stats/metrics/histogram", 422, params=params | {"to": "9999-12-31T23:59:59-14:00"})
    sci("GET", "/stats/metrics/histogram", 200, params=params | {"from": "0001-01-01T00:00:00", "to": "9999-12-31"})


def test_a_metric_line_names_a_result_the_caller_may_write(flavour: Flavour) -> None:
    sci, pipeline = Caller(flavour, "sci_a"), Caller(flavour, "pipeline")
    mine = three_collections(flavour, member=True)
    own = sci("POST", "/results", 201, json=result(mine[:2], f"p-{uid()}"))["resultId"]
    others = pipeline("POST", "/results", 201, json=result([flavour.data.dcs["b0"]], f"p-{uid()}"))["resultId"]
    seen = pipeline("POST", "/results", 201, json=result(three_collections(flavour, member=False), f"p-{uid()}"))
    lines = [
        ctf(mine[0], 1, resultId=own),
        ctf(mine[0], 2, resultId="0" * 24),
        ctf(mine[0], 3, resultId=others),
        ctf(mine[2], 4, resultId=own),
        ctf(mine[1], 5, resultId=own),
        ctf(mine[0], 6, resultId=seen["resultId"]),
        ctf(mine[0], 7, resultId=own),
    ]
    report = sci("POST", "/metrics/bulk", 200, content="\n".join(lines))
    assert report["accepted"] == 3 and [r["line"] for r in report["rejected"]] == [2, 3, 4, 6], report
    reasons = [r["reason"] for r in report["rejected"]]
    assert "not found" in reasons[0] and "not found" in reasons[1] and "does not cover" in reasons[2]
    assert (
        pipeline("POST", "/metrics/bulk", 200, content=ctf(flavour.data.dcs["b0"], 1, resultId=others))["accepted"] == 1
    )


def test_values_at_the_float_limits(flavour: Flavour) -> None:
    """A binned field too far out for its bins is rejected alone (its rollup sums would overflow); huge values of
    free fields are stored, and their summaries stay finite."""
    sci, dc = Caller(flavour, "sci_a"), three_collections(flavour, member=True)[0]
    binned = [
        json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": {"imageNumber": 1, "estimatedResolution": v}})
        for v in (3.5, 1e300, 1.7976931348623157e308, 4.5)
    ]
    report = sci("POST", "/metrics/bulk", 200, content="\n".join(binned))
    assert report["accepted"] == 2 and [r["line"] for r in report["rejected"]] == [2, 3], report
    free = [ctf(dc, v, "x.huge") for v in (1.7976931348623157e308, 1.7976931348623157e308, -(2**63), 2**63 - 1)]
    assert sci("POST", "/metrics/bulk", 200, content="\n".join(free))["accepted"] == 4
    unified = sci("GET", f"/datacollections/{dc}", 200, params={"include": "metrics"})["documents"]["metrics"]
    summary = {k["kind"]: k for k in unified}["x.huge"]["fields"]["imageNumber"]
    assert summary["count"] == 4 and summary["mean"] == pytest.approx(1.7976931348623157e308 / 2)
    session = sci("GET", f"/datacollections/{dc}", 200)["BLSession"]["sessionId"]
    stats = sci("GET", "/stats/metrics/summary", 200, params={"sessionId": session, "kind": "em.ctf"})
    assert stats["fields"]["estimatedResolution"]["count"] == 2


def test_a_kind_schema_nested_too_deeply_for_the_checker(flavour: Flavour) -> None:
    staff = Caller(flavour, "admin")
    schema: dict[str, Any] = {}
    for _ in range(120):
        schema = {"not": schema}
    body = {"kind": f"x.deep{uid().lower()}", "target": "metric", "schema": schema}
    assert "nests too deeply" in staff("POST", "/result-kinds", 422, json=body)["detail"]
