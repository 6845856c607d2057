"""Best results (EXI's rule over SQL and documents) and streamed results exports, on both flavours."""

import csv
import io
import json
import pathlib
import tempfile
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.best_result import Candidate, choose, space_group_number
from tests.conftest import Flavour
from tests.factories import insert
from tests.test_results import result
from tests.test_shipping import Caller, proposal_id, uid


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
    assert best["best"]["spaceGroupNumber"] == 96 and len(best["candidates"]) == 2
    Caller(flavour, "sci_b")("GET", f"/datacollections/{dc}/best-result", 404)


def test_exports_stream_every_format(flavour: Flavour) -> None:
    sci, d = Caller(flavour, "sci_a"), flavour.data
    text = sci("GET", f"/shippings/{d.shippings['a']}/results", 200).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["dataCollectionId"] for r in rows} == {str(d.dcs["a0"]), str(d.dcs["a1"])}
    assert {r["sample"] for r in rows} == {"sample-a"} and rows[0]["container"] == "puck-a"
    assert any(r["bestSource"] for r in rows)
    lines = sci("GET", f"/proposals/{d.proposals['a']}/results?format=ndjson", 200).text.splitlines()
    assert len(lines) == 2 and {"sample", "bestProgram", "latestResults"} <= set(json.loads(lines[0]))
    book = load_workbook(io.BytesIO(sci("GET", f"/shippings/{d.shippings['a']}/results?format=xlsx", 200).content))
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    assert sheet[0][:3] == ("proposal", "shipment", "dewar") and len(sheet) == len(rows) + 1
    Caller(flavour, "sci_b")("GET", f"/shippings/{d.shippings['a']}/results", 404)
    Caller(flavour, "sci_b")("GET", f"/proposals/{d.proposals['a']}/results", 404)
    sci("GET", f"/shippings/{d.shippings['a']}/results?format=pdf", 422)


async def _collect_on_every_sample(db: AsyncSession, shipping_id: int, session_id: int) -> None:
    """One data collection (in a group of its own) on each sample of a shipment, two on every seventh."""
    samples = (
        await db.execute(
            text(
                "SELECT s.blSampleId FROM BLSample s JOIN Container c ON c.containerId = s.containerId"
                " JOIN Dewar d ON d.dewarId = c.dewarId WHERE d.shippingId = :id ORDER BY s.blSampleId"
            ),
            {"id": shipping_id},
        )
    ).scalars()
    for n, sample in enumerate(samples):
        group = await insert(
            db,
            "INSERT INTO DataCollectionGroup (sessionId, blSampleId, experimentType) VALUES (:s, :b, 'OSC')",
            s=session_id,
            b=sample,
        )
        await db.execute(
            text("INSERT INTO DataCollection (dataCollectionGroupId, sessionId, blSampleId) VALUES (:g, :s, :b)"),
            [{"g": group, "s": session_id, "b": sample}] * (2 if n % 7 == 0 else 1),
        )


async def _exported_collections(db: AsyncSession, where: str, value: object) -> list[tuple[int, int | None]]:
    """(sample, collection) of every row an export must hold, straight from SQL (``where``: the scope)."""
    rows = await db.execute(
        text(
            "SELECT s.blSampleId, dc.dataCollectionId FROM BLSample s"
            " JOIN Crystal x ON x.crystalId = s.crystalId JOIN Protein p ON p.proteinId = x.proteinId"
            " JOIN Proposal o ON o.proposalId = p.proposalId"
            " LEFT JOIN Container c ON c.containerId = s.containerId LEFT JOIN Dewar d ON d.dewarId = c.dewarId"
            " LEFT JOIN DataCollectionGroup g ON g.blSampleId = s.blSampleId"
            " LEFT JOIN DataCollection dc ON dc.dataCollectionGroupId = g.dataCollectionGroupId"
            f" WHERE {where} = :v"
        ),
        {"v": value},
    )
    return [(s, dc) for s, dc in rows]


def _dc_ids(content: bytes, kind: str) -> list[str]:
    if kind == "csv":
        return [r["dataCollectionId"] for r in csv.DictReader(io.StringIO(content.decode()))]
    if kind == "ndjson":
        return [str(json.loads(line)["dataCollectionId"] or "") for line in content.decode().splitlines()]
    sheet = list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))
    return ["" if row[7] is None else str(row[7]) for row in sheet[1:]]


@pytest.fixture
def large_shipment(flavour: Flavour) -> int:
    """A shipment of 1,200 samples (more than one batch), each with a data collection, some with two."""
    from tests.test_import import HEADER, sheet
    from tests.test_import import csv as as_csv

    sci = Caller(flavour, "sci_a")
    acronym = f"exp{uid()}"
    pid = sci("GET", f"/proposals/{flavour.data.proposals['a']}", 200)["proposalId"]
    sci("POST", "/proteins", 201, json={"proposalId": pid, "acronym": acronym})
    params = {"proposal": flavour.data.proposals["a"], "shippingName": "large"}
    content = as_csv(HEADER, sheet(1200, acronym, uid(), pucks_per_dewar=40))
    shipment = sci("POST", "/shippings/import", 201, params=params, files={"file": ("big.csv", content)})["shippingId"]
    flavour.run(_collect_on_every_sample, shipment, flavour.data.sessions["a"])
    return int(shipment)


@pytest.mark.parametrize("kind", ["csv", "ndjson", "xlsx"])
def test_a_large_export_has_every_row(flavour: Flavour, large_shipment: int, kind: str) -> None:
    """More samples than one batch, each with collections (so each batch runs its own queries): every row the
    SQL holds leaves, once, for a shipment and for its proposal."""
    sci = Caller(flavour, "sci_a")
    for path, where, value in [
        (f"/shippings/{large_shipment}/results", "d.shippingId", large_shipment),
        (f"/proposals/{flavour.data.proposals['a']}/results", "o.proposalId", proposal_id(flavour, "a")),
    ]:
        expected = flavour.run(_exported_collections, where, value)
        got = _dc_ids(sci("GET", f"{path}?format={kind}", 200).content, kind)
        assert sorted(got) == sorted("" if dc is None else str(dc) for _, dc in expected)
    assert len(got) == 2 + 1200 + len(range(0, 1200, 7))  # the data set's two collections, the large shipment's


def test_a_large_export_streams(flavour: Flavour, large_shipment: int) -> None:
    """1,200 samples leave in chunks as they are read (no Content-Length), every one of them there."""
    sci = Caller(flavour, "sci_a")
    chunks = []
    with flavour.client.stream(
        "GET", f"/ispyb/api/v1/shippings/{large_shipment}/results?format=ndjson", headers=sci.headers
    ) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        chunks = [chunk for chunk in r.iter_bytes() if chunk]
    rows = [json.loads(row) for row in b"".join(chunks).decode().splitlines()]
    assert len(rows) == 1200 + len(range(0, 1200, 7)) and all(row["dataCollectionId"] for row in rows)
    assert {row["sample"] for row in rows} == {f"s{i:04d}" for i in range(1200)}
    assert len(chunks) > 1


#: text a spreadsheet program would run as a formula (or DDE) if it were written as it is
HOSTILE = ['=HYPERLINK("http://x.test","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def assert_neutral_csv(content: bytes, values: list[str]) -> list[list[str]]:
    """Every hostile value left as a quoted field behind a ``'``, never bare; the parsed rows."""
    text = content.decode()
    for value in values:
        assert '"' + "'" + value.replace('"', '""') + '"' in text
        assert f",{value}" not in text and not text.startswith(value)
    rows = list(csv.reader(io.StringIO(text)))
    cells = {cell for row in rows for cell in row}
    assert {f"'{v}" for v in values} <= cells and not cells & set(values)
    return rows


def assert_no_formula(content: bytes, values: list[str]) -> list[tuple[object, ...]]:
    """No formula in a workbook; every hostile value there as exact text marked as such (an XML reader reads a
    CR as a LF, or not, by the XML parser installed); its rows' values."""
    cells = [cell for row in load_workbook(io.BytesIO(content)).worksheets[0].iter_rows() for cell in row]
    assert [c.value for c in cells if c.data_type == "f"] == []
    marked = {str(c.value).replace("\r", "\n") for c in cells if c.data_type == "s" and c.quotePrefix}
    assert {v.replace("\r", "\n") for v in values} <= marked
    book = load_workbook(io.BytesIO(content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


@pytest.mark.parametrize("writer", ["csv_line", "csv_bytes", "xlsx_bytes"])
def test_every_writer_neutralises_text_and_keeps_numbers(writer: str) -> None:
    from app.services import spreadsheets

    row = [*HOSTILE, -3.5, -2, 0.25, None, "plain", "a;b"]
    if writer == "xlsx_bytes":
        rows = assert_no_formula(spreadsheets.xlsx_bytes(HOSTILE, [row]), HOSTILE)
        read = tuple(v.replace("\r", "\n") if isinstance(v, str) else v for v in rows[1])  # CR: by the XML parser
        assert read == (*HOSTILE[:5], "\nx", -3.5, -2, 0.25, None, "plain", "a;b")
        return
    content = spreadsheets.csv_line(row) if writer == "csv_line" else spreadsheets.csv_bytes(HOSTILE, [row])
    lines = assert_neutral_csv(content, HOSTILE)
    assert lines[-1] == [*(f"'{v}" for v in HOSTILE), "-3.5", "-2", "0.25", "", "plain", "a;b"]
    assert b",-3.5,-2,0.25," in content and b'"a;b"' in content  # numbers bare, every text quoted


async def _hostile_shipment(db: AsyncSession, proposal: int, session: int) -> int:
    """A shipment whose names, codes and comments are all hostile text (barcodes unique), one sample with a
    collection; its id."""

    async def add(sql: str, **values: object) -> int:
        return await insert(db, sql, **values)

    protein = await add("INSERT INTO Protein (proposalId, acronym) VALUES (:p, :a)", p=proposal, a=HOSTILE[4])
    crystal = await add("INSERT INTO Crystal (proteinId) VALUES (:p)", p=protein)
    ship = await add("INSERT INTO Shipping (proposalId, shippingName) VALUES (:p, :n)", p=proposal, n=HOSTILE[0])
    dewar = await add("INSERT INTO Dewar (shippingId, code, barCode) VALUES (:s, :c, :b)",
                      s=ship, c=HOSTILE[1], b=f"={uid()}")  # fmt: skip
    box = await add("INSERT INTO Container (dewarId, code, barcode, containerType) VALUES (:d, :c, :b, :t)",
                    d=dewar, c=HOSTILE[2], b=f"@{uid()}", t=HOSTILE[5])  # fmt: skip
    sample = await add(
        "INSERT INTO BLSample (containerId, crystalId, name, location, code, comments)"
        " VALUES (:c, :x, :n, :l, :k, :m)",
        c=box, x=crystal, n=HOSTILE[3], l=HOSTILE[2], k=HOSTILE[1], m=HOSTILE[5],
    )  # fmt: skip
    group = await add(
        "INSERT INTO DataCollectionGroup (sessionId, blSampleId, experimentType) VALUES (:s, :b, 'OSC')",
        s=session,
        b=sample,
    )
    await add("INSERT INTO DataCollection (dataCollectionGroupId, blSampleId) VALUES (:g, :b)", g=group, b=sample)
    return ship


def test_results_exports_neutralise_formulas(flavour: Flavour) -> None:
    """Names a client stored come back as text in CSV and XLSX; the collection id stays a number."""
    sci = Caller(flavour, "sci_a")
    ship = flavour.run(_hostile_shipment, proposal_id(flavour, "a"), flavour.data.sessions["a"])
    rows = assert_neutral_csv(sci("GET", f"/shippings/{ship}/results", 200).content, HOSTILE[:5])
    assert rows[1][1:7] == ["'" + HOSTILE[0], "'+1+1", "'-2+3", "'-2+3", "'@SUM(A1)", "'\tx"]
    assert rows[1][7].isdigit()
    sheet = assert_no_formula(sci("GET", f"/shippings/{ship}/results?format=xlsx", 200).content, HOSTILE[:5])
    assert sheet[1][1:7] == (HOSTILE[0], "+1+1", "-2+3", "-2+3", "@SUM(A1)", "\tx") and isinstance(sheet[1][7], int)


def test_adhoc_csv_neutralises_formulas(flavour: Flavour) -> None:
    sci = Caller(flavour, "sci_a")
    program = f"p{uid()}"
    data = {f"k{i}": value for i, value in enumerate(HOSTILE)} | {"negative": -3.5}
    sci("POST", "/results", 201, json=result([flavour.data.dcs["a0"]], program, data=data))
    spec = {"collection": "results", "filter": {"program.name": program}, "projection": {"_id": 0, "data": 1}}
    found = sci("POST", "/query/find", 200, json=spec)
    assert found == [{"data": data}]
    aggregate = {"collection": "results", "pipeline": [{"$match": {"program.name": program}},
                                                       {"$replaceWith": "$data"}]}  # fmt: skip
    content = sci("POST", "/query/aggregate?format=csv", 200, json=aggregate).content
    rows = assert_neutral_csv(content, HOSTILE)
    assert rows == [[*data, "_other"], [*(f"'{v}" for v in HOSTILE), "-3.5", ""]] and content.endswith(b',-3.5,""\r\n')


def test_xlsx_exports_leave_no_temporary_file(
    flavour: Flavour, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    """Neither a refused export (404) nor one failing half-way leaves a file in the temporary folder."""
    from app.services import exports

    sci = Caller(flavour, "sci_a")
    flavour.run(_hostile_shipment, proposal_id(flavour, "a"), flavour.data.sessions["a"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    Caller(flavour, "sci_b")("GET", f"/shippings/{flavour.data.shippings['a']}/results?format=xlsx", 404)
    assert list(tmp_path.iterdir()) == []
    best, calls = exports.best_results, []

    async def failing_second_batch(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the second batch fails")
        return await best(*args)

    monkeypatch.setattr(exports, "BATCH", 1)
    monkeypatch.setattr(exports, "best_results", failing_second_batch)
    with pytest.raises(RuntimeError, match="second batch"):
        sci("GET", f"/proposals/{flavour.data.proposals['a']}/results?format=xlsx", 500)
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []
    monkeypatch.setattr(exports, "best_results", best)
    book = load_workbook(
        io.BytesIO(sci("GET", f"/proposals/{flavour.data.proposals['a']}/results?format=xlsx", 200).content)
    )
    assert len(list(book.worksheets[0].iter_rows())) == 1 + 2 + 1 and list(tmp_path.iterdir()) == []
