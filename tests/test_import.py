"""Spreadsheet import on both flavours: all rows or none, every problem reported at once, bad files refused."""

import csv as csv_module
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from app.main import create_app
from tests.conftest import Flavour
from tests.test_shipping import Caller, proposal_id, uid

HEADER = ["Dewar", "Container barcode", "Container type", "Position", "Sample name", "Protein acronym",
          "Space group", "Experiment kind", "Required resolution", "Anomalous scatterer"]  # fmt: skip


def sheet(n: int, acronym: str, tag: str, pucks_per_dewar: int = 20) -> list[list[Any]]:
    """``n`` samples in Unipucks of 16, 20 pucks a dewar, every third with a SAD protocol."""
    rows = []
    for i in range(n):
        puck = i // 16
        sad = i % 3 == 0
        rows.append(
            [
                f"D{puck // pucks_per_dewar + 1}",
                f"PK-{tag}-{puck:03d}",
                "Unipuck",
                i % 16 + 1,
                f"s{i:04d}",
                acronym,
                "P21",
                "SAD" if sad else None,
                1.9 if sad else None,
                "Se" if sad else None,
            ]
        )
    return rows


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet_ = book.active
    assert sheet_ is not None
    sheet_.append(header)
    for row in rows:
        sheet_.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv(header: list[str], rows: list[list[Any]]) -> bytes:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def upload(
    call: Caller, f: Flavour, content: bytes, expect: int, name: str = "samples.xlsx", **params: Any
) -> dict[str, Any]:
    params = {"proposal": f.data.proposals["a"]} | params
    return call("POST", "/shippings/import", expect, params=params, files={"file": (name, content)})


def samples_of(call: Caller, f: Flavour) -> int:
    return call("GET", f"/samples?proposal={f.data.proposals['a']}&limit=1", 200)["total"]


@pytest.fixture
def sci(flavour: Flavour) -> Caller:
    return Caller(flavour, "sci_a")


@pytest.fixture
def acronym(flavour: Flavour, sci: Caller) -> str:
    name = f"imp{uid()}"
    sci("POST", "/proteins", 201, json={"proposalId": proposal_id(flavour, "a"), "acronym": name})
    return name


def test_a_valid_500_row_workbook_is_imported_whole(flavour: Flavour, sci: Caller, acronym: str) -> None:
    tag = uid()
    before = samples_of(sci, flavour)
    report = upload(sci, flavour, xlsx(HEADER, sheet(500, acronym, tag)), 201, shippingName="bulk")
    assert report | {"shippingId": None} == {
        "dryRun": False,
        "shippingId": None,
        "rows": 500,
        "dewars": 2,
        "containers": 32,
        "samples": 500,
        "diffractionPlans": 167,
        "proteinsCreated": [],
    }
    assert samples_of(sci, flavour) == before + 500
    shipment = sci("GET", f"/shippings/{report['shippingId']}?include=contents", 200)
    assert shipment["shippingName"] == "bulk"
    assert shipment["_metadata"] == {"dewars": 2, "containers": 32, "samples": 500}
    first = shipment["Dewar"][0]["Container"][0]
    assert first["barcode"] == f"PK-{tag}-000" and first["capacity"] == 16
    assert [s["location"] for s in first["BLSample"]] == [str(p) for p in range(1, 17)]
    assert {s["experimentKind"] for s in first["BLSample"]} == {"SAD", None}


def test_twenty_bad_rows_are_all_reported_and_nothing_is_written(flavour: Flavour, sci: Caller, acronym: str) -> None:
    rows = sheet(100, acronym, uid())
    for i in range(0, 100, 5):
        rows[i][4] = f"bad name {i}"  # beamline software refuses spaces
    before = samples_of(sci, flavour)
    problem = upload(sci, flavour, xlsx(HEADER, rows), 422)
    assert len(problem["errors"]) == 20 and "20 problem(s) on 20 row(s)" in problem["detail"]
    assert {e["row"] for e in problem["errors"]} == {i + 2 for i in range(0, 100, 5)}
    assert {e["column"] for e in problem["errors"]} == {"Sample name"}
    assert problem["errors"][0]["value"] == "bad name 0"
    assert samples_of(sci, flavour) == before


def test_a_barcode_conflict_half_way_writes_nothing(flavour: Flavour, sci: Caller, acronym: str) -> None:
    tag = uid()
    ship = sci("GET", f"/shippings?proposal={flavour.data.proposals['a']}&limit=1", 200)["results"][0]["shippingId"]
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "x"})["dewarId"]
    taken = sci("POST", "/containers", 201, json={"dewarId": dewar, "code": "x", "containerType": "Unipuck",
                                                 "barcode": f"PK-{tag}-005"})["containerId"]  # fmt: skip
    before = (samples_of(sci, flavour), sci("GET", "/shippings?limit=1", 200)["total"])
    problem = upload(sci, flavour, xlsx(HEADER, sheet(200, acronym, tag)), 422)
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(5 * 16 + 2, "Container barcode")]
    assert f"container {taken}" in problem["errors"][0]["message"]
    assert (samples_of(sci, flavour), sci("GET", "/shippings?limit=1", 200)["total"]) == before


def test_dry_run_reports_and_writes_nothing(flavour: Flavour, sci: Caller) -> None:
    before = samples_of(sci, flavour)
    report = upload(sci, flavour, csv(HEADER, sheet(40, f"new{uid()}", uid())), 422, name="s.csv")
    assert {e["column"] for e in report["errors"]} == {"Protein acronym"}
    acronym = f"dry{uid()}"
    sci("POST", "/proteins", 201, json={"proposalId": proposal_id(flavour, "a"), "acronym": acronym})
    report = upload(sci, flavour, csv(HEADER, sheet(40, acronym, uid())), 200, name="s.csv", dryRun="true")
    assert report["dryRun"] and report["samples"] == 40 and report["containers"] == 3 and report["shippingId"] is None
    assert samples_of(sci, flavour) == before


def test_exi_profile_and_created_proteins(flavour: Flavour, sci: Caller) -> None:
    header = ["Parcel Name", "Container Name", "Container Type", "Sample Position", "Protein Acronym", "Sample Name",
              "Space Group", "Experiment Type", "Beam Diameter"]  # fmt: skip
    acronym, puck = f"exi{uid()}", f"c{uid()}"
    rows = [["P1", puck, "SPINEpuck", p, acronym, f"x{p}", "C2", "OSC", 50] for p in range(1, 11)]
    settings = flavour.settings.model_copy(update={"import_create_proteins": True})
    with TestClient(create_app(settings)) as client:
        call = Caller(flavour, "sci_a")
        call.f = Flavour(flavour.name, flavour.database, flavour.url, flavour.data, client, settings)
        report = upload(call, flavour, csv(header, rows), 201, name="exi.csv", profile="exi")
    assert report["proteinsCreated"] == [acronym] and report["containers"] == 1 and report["diffractionPlans"] == 10
    assert sci("GET", f"/proteins?search={acronym}", 200)["results"][0]["isCreatedBySampleSheet"] is True


def test_templates_carry_the_profile_columns(flavour: Flavour, sci: Caller) -> None:
    text = sci("GET", "/shippings/import/template?profile=exi", 200).text
    assert next(csv_module.reader(io.StringIO(text)))[:3] == ["Parcel Name", "Container Name", "Container Type"]
    book = load_workbook(io.BytesIO(sci("GET", "/shippings/import/template?format=xlsx", 200).content))
    first = next(book.worksheets[0].iter_rows(values_only=True))
    assert first[:3] == ("Dewar", "Container barcode", "Container name")
    sci("GET", "/shippings/import/template?profile=nope", 404)


def test_templates_neutralise_formulas(flavour: Flavour) -> None:
    """A facility's profile headers leave the templates as text, never as formulas."""
    from tests.test_exports import HOSTILE, assert_neutral_csv, assert_no_formula

    fields = ["dewar", "containerBarcode", "containerType", "position", "sampleName", "proteinAcronym"]
    settings = flavour.settings.model_copy(update={"import_profiles": {"odd": dict(zip(fields, HOSTILE, strict=True))}})
    with TestClient(create_app(settings)) as client:
        call = Caller(flavour, "sci_a")
        call.f = Flavour(flavour.name, flavour.database, flavour.url, flavour.data, client, settings)
        rows = assert_neutral_csv(call("GET", "/shippings/import/template?profile=odd", 200).content, HOSTILE)
        assert rows == [[f"'{v}" for v in HOSTILE], ["Dewar-1", "PK-0001", "Unipuck", "1", "lyso_01", "lyso"]]
        content = call("GET", "/shippings/import/template?profile=odd&format=xlsx", 200).content
    sheet = assert_no_formula(content, HOSTILE)
    assert sheet[1] == ("Dewar-1", "PK-0001", "Unipuck", 1, "lyso_01", "lyso")


@pytest.mark.parametrize(
    ("content", "name", "status", "says"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", 415, "CSV"),
        (b"", "empty.csv", 422, "empty"),
        (b"PK\x03\x04not really a zip", "broken.xlsx", 415, "xlsx"),
        (b"Dewar,Colour\nD1,blue\n", "odd.csv", 422, "unknown column(s): Colour"),
        (b"Dewar,Container barcode,Container type,Position,Sample name,Protein acronym\n", "h.csv", 422, "no rows"),
    ],
)
def test_bad_files_are_refused(
    flavour: Flavour, sci: Caller, content: bytes, name: str, status: int, says: str
) -> None:
    assert says in upload(sci, flavour, content, status, name=name)["detail"]


def test_oversized_files_are_413(flavour: Flavour) -> None:
    settings = flavour.settings.model_copy(update={"import_max_bytes": 1000})
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/ispyb/api/v1/shippings/import",
            headers=flavour.token("sci_a"),
            params={"proposal": flavour.data.proposals["a"]},
            files={"file": ("big.csv", b"x" * 5000)},
        )
    assert r.status_code == 413 and "1000-byte" in r.json()["detail"]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["D1", "PK-DUP", "Unipuck", 1, "other", "{a}"], "Position", "already taken by row 2"),
        (["D1", "PK-DUP", "Unipuck", 17, "other", "{a}"], "Position", "beyond the 16 positions"),
        (["D1", "PK-DUP", "Unipuck", 2, "ab/cd", "{a}"], "Sample name", "pattern"),
        (["D1", "PK-DUP", "Unipuck", 2, "first", "{a}"], "Sample name", "already on row 2"),
        (["D2", "PK-DUP", "Unipuck", 2, "other", "{a}"], "Dewar", "is in dewar `D1`"),
        (["D1", "PK-DUP", "Unipuck", "two", "other", "{a}"], "Position", "integer"),
    ],
)
def test_row_problems_name_row_and_column(
    flavour: Flavour, sci: Caller, acronym: str, row: list[Any], column: str, message: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    first = ["D1", f"PK-DUP-{tag}", "Unipuck", 1, "first", acronym]
    second = [f"PK-DUP-{tag}" if v == "PK-DUP" else acronym if v == "{a}" else v for v in row]
    problem = upload(sci, flavour, csv(HEADER[:6], [first, second]), 422, name="s.csv")
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(3, column)]
    assert message in problem["errors"][0]["message"]


def test_cli_import_reports_problems_or_imports(flavour: Flavour, acronym: str, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "ispyb-hybrid")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")} | {
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": flavour.url,
        "COLUMNS": "200",
    }
    rows = sheet(64, acronym, uid())
    rows[10][3] = 99
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(xlsx(HEADER, rows))
    good.write_bytes(xlsx(HEADER, sheet(64, acronym, uid())))
    base = [cli, "import-shipment", "--proposal", flavour.data.proposals["a"], "--login", f"sci_a_{flavour.name}"]
    refused = subprocess.run([*base, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "beyond the 16 positions" in refused.stdout
    done = subprocess.run([*base, str(good)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout[done.stdout.index("{") :])["samples"] == 64
