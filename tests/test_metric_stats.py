"""Metric aggregations from rollups equal brute force over the raw documents, stay exact under concurrent
ingest, and refuse bad input; on both flavours."""

import asyncio
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import Flavour
from tests.test_results import three_collections
from tests.test_shipping import Caller, uid

API = "/ispyb/api/v1"
WIDTH = 0.1  # em.ctf estimatedResolution's fixed bin width (schemas/kinds/em.ctf.json)


def ctf_lines(dcs: list[int], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        json.dumps(
            {
                "kind": "em.ctf",
                "dataCollectionId": rng.choice(dcs),
                "values": {
                    "imageNumber": i,
                    "estimatedResolution": round(rng.uniform(2.0, 9.0), 3),
                    "defocusU": rng.uniform(5e3, 3e4),
                },
            }
        )
        for i in range(n)
    ]


@pytest.fixture
def filled(flavour: Flavour) -> tuple[Caller, int, list[dict[str, Any]]]:
    """A fresh session of sci_a's with 600 CTF metrics; (caller, session id, the raw documents)."""
    sci = Caller(flavour, "sci_a")
    dcs = three_collections(flavour, member=True)
    assert sci("POST", "/metrics/bulk", 200, content="\n".join(ctf_lines(dcs, 600, 5)))["accepted"] == 600
    session = sci("GET", f"/datacollections/{dcs[0]}", 200)["BLSession"]["sessionId"]
    raw = sci("GET", "/metrics", 200, params={"sessionId": session, "kind": "em.ctf", "limit": 10000})["results"]
    assert len(raw) == 600
    return sci, session, raw


def upper_edge(value: float, width: float) -> float:
    return (math.floor(value / width + 1e-9) + 1) * width


@pytest.mark.parametrize("params", [{}, {"binWidth": 0.5}, {"binWidth": 1.0}, {"bins": 7}, {"bins": 1}, {"bins": 1000}])
def test_histogram_equals_brute_force(filled: tuple[Caller, int, list[dict[str, Any]]], params: dict[str, Any]) -> None:
    sci, session, raw = filled
    values = [m["values"]["estimatedResolution"] for m in raw]
    query = {"sessionId": session, "kind": "em.ctf", "field": "estimatedResolution"} | params
    hist = sci("GET", "/stats/metrics/histogram", 200, params=query)
    assert hist["count"] == len(values) == sum(b["count"] for b in hist["bins"])
    for b in hist["bins"]:
        assert b["count"] == sum(b["start"] - 1e-9 <= v < b["end"] - 1e-9 for v in values), b
    if "bins" in params:
        assert len(hist["bins"]) <= params["bins"]


def test_summary_equals_brute_force(filled: tuple[Caller, int, list[dict[str, Any]]]) -> None:
    sci, session, raw = filled
    values = sorted(m["values"]["estimatedResolution"] for m in raw)
    got = sci("GET", "/stats/metrics/summary", 200, params={"sessionId": session, "kind": "em.ctf"})["fields"]
    res = got["estimatedResolution"]
    assert (res["count"], res["min"], res["max"]) == (len(values), values[0], values[-1])
    assert res["mean"] == pytest.approx(sum(values) / len(values))
    for name, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        assert res[name] == pytest.approx(upper_edge(values[math.ceil(q * len(values)) - 1], WIDTH)), name
    assert got["defocusU"]["count"] == 600 and got["imageNumber"]["count"] == 600


def _hour(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H")


def test_timeseries_and_session_stats(filled: tuple[Caller, int, list[dict[str, Any]]]) -> None:
    sci, session, raw = filled
    hours = Counter(_hour(m["createdAt"]) for m in raw)
    params = {"sessionId": session, "kind": "em.ctf", "field": "estimatedResolution"}
    hourly = sci("GET", "/stats/metrics/timeseries", 200, params=params)["buckets"]
    assert {_hour(b["time"]): b["count"] for b in hourly} == hours
    minutes = sci("GET", "/stats/metrics/timeseries", 200, params=params | {"interval": "minute"})["buckets"]
    assert sum(b["count"] for b in minutes) == 600
    daily = sci("GET", "/stats/metrics/timeseries", 200, params=params | {"interval": "day"})["buckets"]
    assert sum(b["count"] for b in daily) == 600 and all(b["p90"] >= b["p50"] for b in daily)
    stats = sci("GET", f"/stats/sessions/{session}", 200)["techniques"]
    assert stats["mx"]["datacollections"] == 3


@pytest.mark.commits  # a second app of its own, which sees only committed rows
def test_rollups_stay_exact_under_concurrent_ingest(flavour: Flavour, mongo_url: str) -> None:
    dcs = three_collections(flavour, member=True)
    headers = flavour.token("sci_a")
    batches = [("\n".join(ctf_lines(dcs, 100, seed))).encode() for seed in range(10)]

    async def run() -> list[httpx.Response]:
        app = create_app(flavour.settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                posts = (client.post(f"{API}/metrics/bulk", content=b, headers=headers) for b in batches)
                return await asyncio.gather(*posts)

    assert [r.json()["accepted"] for r in asyncio.run(run())] == [100] * 10
    sci = Caller(flavour, "sci_a")
    session = sci("GET", f"/datacollections/{dcs[0]}", 200)["BLSession"]["sessionId"]
    params = {"sessionId": session, "kind": "em.ctf", "field": "estimatedResolution"}
    assert sci("GET", "/stats/metrics/histogram", 200, params=params)["count"] == 1000
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_MONGO_URL": mongo_url,
        "ISPYB_MONGO_DB": flavour.settings.mongo_db,
    }
    cli = str(Path(sys.executable).parent / "ispyb-hybrid")
    check = subprocess.run([cli, "check-rollups"], env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "0 difference(s)" in check.stdout, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"kind": "em.nope", "field": "x"}, 422),
        ({"kind": "em.ctf", "field": "nope"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "bins": 0}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "bins": 5000}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": 0.25}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "1e400"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "Infinity"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "-Infinity"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "NaN"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "1.7976931348623157e309"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "binWidth": "1e300"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "from": "2026-01-02", "to": "2026-01-01"}, 422),
        ({"kind": "em.ctf", "field": "estimatedResolution", "sessionId": 999_999_999}, 404),
    ],
)
def test_bad_aggregation_input(flavour: Flavour, params: dict[str, Any], status: int) -> None:
    Caller(flavour, "sci_a")("GET", "/stats/metrics/histogram", status, params=params)


def test_aggregations_stay_in_scope(flavour: Flavour) -> None:
    other = Caller(flavour, "sci_b")
    session_a = flavour.data.sessions["a"]
    params = {"kind": "em.ctf", "field": "estimatedResolution"}
    other("GET", "/stats/metrics/histogram", 404, params=params | {"sessionId": session_a})
    other("GET", f"/stats/sessions/{session_a}", 404)
    other("GET", "/stats/metrics/summary", 404, params={"kind": "em.ctf", "proposal": flavour.data.proposals["a"]})
    minute = {"kind": "em.ctf", "field": "estimatedResolution", "interval": "minute"}
    other("GET", "/stats/metrics/timeseries", 422, params=minute)


def test_bin_width_over_a_tiny_fixed_width_is_a_422(flavour: Flavour) -> None:
    """A binWidth whose ratio to the field's fixed bin width overflows a float is refused, not a 500."""
    kind = f"em.tiny{uid().lower()}"
    schema = {"type": "object", "properties": {"x": {"type": "number", "bins": {"width": 1e-300}}}}
    Caller(flavour, "admin")("POST", "/result-kinds", 201, json={"kind": kind, "target": "metric", "schema": schema})
    params = {"kind": kind, "field": "x", "binWidth": 1e12}
    assert "whole multiple" in Caller(flavour, "sci_a")("GET", "/stats/metrics/histogram", 422, params=params)["detail"]
