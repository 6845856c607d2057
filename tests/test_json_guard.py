"""Lone UTF-16 surrogates in JSON bodies (escapes, or their bytes) are refused at the edge with a 422 on every JSON
route and per NDJSON line, never a 500 or garbage stored; surrogate pairs and escaped backslashes pass."""

import json
from typing import Any

import pytest

from app.json_guard import lone_surrogate
from app.problems import problem
from tests.conftest import Flavour
from tests.test_results import result
from tests.test_shipping import Caller, uid

API = "/ispyb/api/v1"
JSON = {"content-type": "application/json"}
HIGH, LOW, PAIR = "\ud800", "\udfff", "\U0001f600"


@pytest.mark.parametrize(
    ("raw", "lone"),
    [
        (rb'"\ud800"', True),
        (rb'"\udfff"', True),
        (rb'"\uD800"', True),
        (rb'{"\udbff": 1}', True),
        (rb'"\ud800x"', True),
        (rb'"\ud800\u0041"', True),
        (rb'"\udc00\ud800"', True),
        (rb'"\ud83d\ud83d\ude00"', True),
        (rb'"\\\ud800"', True),
        (b'"\xed\xa0\x80"', True),
        ('"\\ud800"'.encode("utf-16"), True),
        ('"\ud800"'.encode("utf-16-le", "surrogatepass"), True),
        (rb'"\ud83d\ude00"', False),
        (rb'"\uD83D\uDE00 \ud7ff \ue000"', False),
        (rb'"\\ud800"', False),
        (rb'"\\\\ud800"', False),
        ("\U0001f600".encode(), False),
        ('"\\ud83d\\ude00"'.encode("utf-16"), False),
        (b"", False),
    ],
)
def test_lone_surrogates_are_found_and_pairs_pass(raw: bytes, lone: bool) -> None:
    assert lone_surrogate(raw) is lone


def test_a_problem_echoing_a_lone_surrogate_still_renders() -> None:
    rendered = problem(422, "Invalid input", f"bad {HIGH}", errors=[{f"k{LOW}": 1}])
    body = json.loads(bytes(rendered.body).decode("utf-8"))
    assert body["detail"].startswith("bad \ufffd") and body["status"] == 422


def refused(answer: dict[str, Any]) -> None:
    assert "lone UTF-16 surrogate" in answer["detail"], answer


def test_login_with_a_lone_surrogate_is_a_422(flavour: Flavour) -> None:
    for body in ({"plugin": HIGH, "login": "x", "password": "x"}, {"plugin": "dummy", "login": HIGH, "password": "x"}):
        r = flavour.client.post(f"{API}/auth/login", content=json.dumps(body), headers=JSON)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        refused(r.json())


@pytest.mark.parametrize(
    ("route", "spec"),
    [
        ("find", {"filter": {"kind": HIGH}}),
        ("find", {"filter": {f"${HIGH}": 1}}),
        ("find", {"projection": {HIGH: 1}}),
        ("find", {"sort": {HIGH: 1}}),
        ("aggregate", {"pipeline": [{f"${HIGH}": {}}]}),
    ],
)
def test_queries_with_a_lone_surrogate_are_a_422(flavour: Flavour, route: str, spec: dict[str, Any]) -> None:
    body = json.dumps({"collection": "results"} | ({} if route == "find" else {"pipeline": []}) | spec)
    refused(Caller(flavour, "sci_a")("POST", f"/query/{route}", 422, content=body, headers=JSON))


@pytest.mark.parametrize("data", [{"s": HIGH}, {"l": [LOW]}, {HIGH: 1}, {"a": {f"k{LOW}": "v"}}])
def test_results_with_a_lone_surrogate_are_a_422_and_nothing_is_stored(flavour: Flavour, data: Any) -> None:
    sci, dc, program = Caller(flavour, "sci_a"), flavour.data.dcs["a0"], f"p-{uid()}"
    refused(sci("POST", "/results", 422, content=json.dumps(result([dc], program, data=data)), headers=JSON))
    assert sci("GET", "/results", 200, params={"dataCollectionId": dc, "program": program})["total"] == 0
    made = sci("POST", "/results", 201, json=result([dc], program, data={"ok": 1}))
    path = f"/results/{made['resultId']}"
    refused(sci("PATCH", path, 422, content=json.dumps({"data": data}), headers=JSON))
    assert sci("GET", path, 200)["data"] == {"ok": 1}


def test_surrogate_pairs_and_escaped_backslashes_are_stored(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    data = {"emoji": PAIR, PAIR: "key", "text": "\\ud800"}
    made = sci("POST", "/results", 201, content=json.dumps(result([dc], f"p-{uid()}", data=data)), headers=JSON)
    assert sci("GET", f"/results/{made['resultId']}", 200)["data"] == data


def test_a_metric_line_with_a_lone_surrogate_is_rejected_alone(flavour: Flavour) -> None:
    sci, dc, kind = Caller(flavour, "sci_a"), flavour.data.dcs["a0"], f"x.s{uid().lower()}"
    lines = [{"n": 1}, {"n": HIGH}, {LOW: 2}, {"n": 3}]
    text = "\n".join(json.dumps({"kind": kind, "dataCollectionId": dc, "values": v}) for v in lines)
    report = sci("POST", "/metrics/bulk", 200, content=text)
    assert report["accepted"] == 2 and [r["line"] for r in report["rejected"]] == [2, 3], report
    assert "lone UTF-16 surrogate" in report["rejected"][0]["reason"]
    assert sci("GET", "/metrics", 200, params={"kind": kind})["total"] == 2


def test_a_kind_with_a_lone_surrogate_is_refused_and_kinds_stay_readable(flavour: Flavour) -> None:
    admin, kind = Caller(flavour, "admin"), f"mx.s{uid().lower()}"
    schema = {"type": "object", "description": HIGH}
    body = json.dumps({"kind": kind, "target": "result", "schema": schema})
    refused(admin("POST", "/result-kinds", 422, content=body, headers=JSON))
    assert kind not in {k["kind"] for k in Caller(flavour, "sci_a")("GET", "/result-kinds", 200)}
