"""Best results (EXI's rule over SQL and documents) and streamed results exports, on both flavours."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from schemas.best_result import Candidate, choose, space_group_number
from tests.conftest import Flavour
from tests.test_results import result
from tests.test_shipping import Caller, uid


@pytest.mark.parametrize(
    ("symbol", "number"),
    [("P 21 21 21", 19), ("P212121", 19), ("P 1 21 1", 4), ("C 1 2 1", 5), ("H 3 2", 155), ("I 41 3 2", 214), ("x", 0)],
)
def test_space_group_numbers(symbol: str, number: int) -> None:
    assert space_group_number(symbol) == number


def candidate(name: str, group: str, r_merge: float | None, resolution: float) -> Candidate:
    return Candidate(
        source="sql",
        id=name,
        program=name,
        spaceGroup=group,
        spaceGroupNumber=space_group_number(group),
        innerShellRMerge=r_merge,
        resolution=resolution,
    )


def test_the_rule_in_order() -> None:
    pool = [
        candidate("a", "P1", 0.03, 1.5),
        candidate("b", "P 21 21 21", 0.05, 2.0),
        candidate("c", "P 43 21 2", 0.2, 1.2),
        candidate("d", "P 21 21 21", 7.0, 1.8),
    ]
    chosen = choose(1, pool)
    assert chosen.best is not None and chosen.best.id == "d"  # 7 % passes (percent), same group as b, better resolution
    assert "3 of 4" in chosen.reason and "No. 19" in chosen.reason
    fallback = choose(1, [candidate("x", "P1", 0.4, 1.0), candidate("y", "C2", 0.5, 3.0)])
    assert fallback.best is not None and fallback.best.id == "y" and "none of 2" in fallback.reason
    assert choose(1, []).best is None


def test_best_result_over_sql_and_documents(flavour: Flavour) -> None:
    sci, dc = Caller(flavour, "sci_a"), flavour.data.dcs["a0"]
    sql_only = sci("GET", f"/datacollections/{dc}/best-result", 200)
    assert sql_only["best"]["source"] == "sql" and sql_only["best"]["spaceGroup"] == "P21"
    data = {"spaceGroup": "P 43 21 2", "innerShell": {"rMerge": 0.04}, "overall": {"resolutionLimitHigh": 1.9}}
    made = sci("POST", "/results", 201, json=result([dc], f"best-{uid()}", status="success", data=data))
    best = sci("GET", f"/datacollections/{dc}/best-result", 200)
    assert best["best"]["source"] == "document" and best["best"]["id"] == made["resultId"]
    assert best["best"]["spaceGroupNumber"] == 96 and len(best["candidates"]) >= 2
    Caller(flavour, "sci_b")("GET", f"/datacollections/{dc}/best-result", 404)


def test_exports_stream_every_format(flavour: Flavour) -> None:
    sci, d = Caller(flavour, "sci_a"), flavour.data
    text = sci("GET", f"/shippings/{d.shippings['a']}/results", 200).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["dataCollectionId"] for r in rows} == {str(d.dcs["a0"]), str(d.dcs["a1"])}
    assert {r["sample"] for r in rows} == {"sample-a"} and rows[0]["container"] == "puck-a"
    assert any(r["bestSource"] for r in rows)
    lines = sci("GET", f"/proposals/{d.proposals['a']}/results?format=ndjson", 200).text.splitlines()
    assert len(lines) >= 2 and {"sample", "bestProgram", "latestResults"} <= set(json.loads(lines[0]))
    book = load_workbook(io.BytesIO(sci("GET", f"/shippings/{d.shippings['a']}/results?format=xlsx", 200).content))
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    assert sheet[0][:3] == ("proposal", "shipment", "dewar") and len(sheet) == len(rows) + 1
    Caller(flavour, "sci_b")("GET", f"/shippings/{d.shippings['a']}/results", 404)
    Caller(flavour, "sci_b")("GET", f"/proposals/{d.proposals['a']}/results", 404)
    sci("GET", f"/shippings/{d.shippings['a']}/results?format=pdf", 422)


def test_a_large_export_streams(flavour: Flavour) -> None:
    """1,200 samples leave in chunks as they are read (no Content-Length), every one of them there."""
    from tests.test_import import HEADER, sheet
    from tests.test_import import csv as as_csv

    sci = Caller(flavour, "sci_a")
    acronym = f"exp{uid()}"
    sci(
        "POST",
        "/proteins",
        201,
        json={
            "proposalId": sci("GET", f"/proposals/{flavour.data.proposals['a']}", 200)["proposalId"],
            "acronym": acronym,
        },
    )
    params = {"proposal": flavour.data.proposals["a"], "shippingName": "large"}
    content = as_csv(HEADER, sheet(1200, acronym, uid(), pucks_per_dewar=40))
    shipment = sci("POST", "/shippings/import", 201, params=params, files={"file": ("big.csv", content)})["shippingId"]
    chunks = []
    with flavour.client.stream(
        "GET", f"/ispyb/api/v1/shippings/{shipment}/results?format=ndjson", headers=sci.headers
    ) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        chunks = [chunk for chunk in r.iter_bytes() if chunk]
    rows = b"".join(chunks).decode().splitlines()
    assert len(rows) == 1200 and {json.loads(row)["sample"] for row in rows} == {f"s{i:04d}" for i in range(1200)}
    assert len(chunks) > 1
