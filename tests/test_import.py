"""Spreadsheet import on both flavours: all rows or none, every problem reported at once, bad files refused."""

import csv as csv_module
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, cast

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
    return cast(
        dict[str, Any], call("POST", "/shippings/import", expect, params=params, files={"file": (name, content)})
    )


#: proposal A's samples in the data set
SAMPLES_OF_A = 1


def samples_of(call: Caller, f: Flavour) -> int:
    return cast(int, call("GET", f"/samples?proposal={f.data.proposals['a']}&limit=1", 200)["total"])


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
    assert samples_of(sci, flavour) == SAMPLES_OF_A + 500
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
    problem = upload(sci, flavour, xlsx(HEADER, rows), 422)
    assert len(problem["errors"]) == 20 and "20 problem(s) on 20 row(s)" in problem["detail"]
    assert {e["row"] for e in problem["errors"]} == {i + 2 for i in range(0, 100, 5)}
    assert {e["column"] for e in problem["errors"]} == {"Sample name"}
    assert problem["errors"][0]["value"] == "bad name 0"
    assert samples_of(sci, flavour) == SAMPLES_OF_A


def test_a_barcode_conflict_half_way_writes_nothing(flavour: Flavour, sci: Caller, acronym: str) -> None:
    tag = uid()
    ship = flavour.data.shippings["a"]
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "x"})["dewarId"]
    taken = sci("POST", "/containers", 201, json={"dewarId": dewar, "code": "x", "containerType": "Unipuck",
                                                 "barcode": f"PK-{tag}-005"})["containerId"]  # fmt: skip
    problem = upload(sci, flavour, xlsx(HEADER, sheet(200, acronym, tag)), 422)
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(5 * 16 + 2, "Container barcode")]
    assert f"container {taken}" in problem["errors"][0]["message"]
    assert (samples_of(sci, flavour), sci("GET", "/shippings?limit=1", 200)["total"]) == (SAMPLES_OF_A, 1)


def test_dry_run_reports_and_writes_nothing(flavour: Flavour, sci: Caller) -> None:
    report = upload(sci, flavour, csv(HEADER, sheet(40, f"new{uid()}", uid())), 422, name="s.csv")
    assert {e["column"] for e in report["errors"]} == {"Protein acronym"}
    acronym = f"dry{uid()}"
    sci("POST", "/proteins", 201, json={"proposalId": proposal_id(flavour, "a"), "acronym": acronym})
    report = upload(sci, flavour, csv(HEADER, sheet(40, acronym, uid())), 200, name="s.csv", dryRun="true")
    assert report["dryRun"] and report["samples"] == 40 and report["containers"] == 3 and report["shippingId"] is None
    assert samples_of(sci, flavour) == SAMPLES_OF_A


@pytest.mark.commits  # a second app of its own, on committed rows
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


@pytest.mark.commits  # the command line's own process sees committed rows only
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


def _bomb(sheet_xml_bytes: int) -> bytes:
    """A small valid workbook whose sheet is replaced by ``sheet_xml_bytes`` of highly compressible XML."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx(HEADER, [["D1", "PK-1", "Unipuck", 1, "s1", "lyso"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(member, source.read(member))
                continue
            xml = source.read(member)
            head, tail = xml.split(b"<sheetData>")
            with bomb.open(member.filename, "w") as sheet_xml:
                sheet_xml.write(head + b"<sheetData><!--")
                padding = sheet_xml_bytes - len(xml) - 7
                block = b" " * (1 << 20)
                for _ in range(padding // len(block)):
                    sheet_xml.write(block)
                sheet_xml.write(b" " * (padding % len(block)) + b"-->" + tail)
    return out.getvalue()


def _declare(archive: bytes, name: bytes, size: int) -> bytes:
    """``archive`` with the uncompressed size of member ``name`` declared as ``size``, in its local header and in
    the central directory."""
    import struct

    patched = bytearray(archive)
    # (signature, offset of the uncompressed size, of the name's length, of the name)
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = patched.find(signature)
        while at != -1:
            (length,) = struct.unpack_from("<H", patched, at + length_at)
            if patched[at + name_at : at + name_at + length] == name:
                struct.pack_into("<I", patched, at + size_at, size)
            at = patched.find(signature, at + 4)
    return bytes(patched)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """~400 MB of sheet XML in a ~400 KB workbook."""
    return _bomb(400 << 20)


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes read out of zip members while a test runs (one entry per read)."""
    import zipfile

    reads: list[int] = []
    read = zipfile.ZipExtFile.read

    def counting(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = read(self, n)
        reads.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return reads


def test_a_zip_bomb_is_refused_before_unpacking(
    flavour: Flavour, sci: Caller, bomb: bytes, unpacked: list[int]
) -> None:
    assert len(bomb) < 1 << 20
    problem = upload(sci, flavour, bomb, 413)
    assert "100,000,000-byte limit" in problem["detail"] and unpacked == []


def test_a_bomb_below_the_total_limit_is_refused_by_its_ratio(
    flavour: Flavour, sci: Caller, bomb: bytes, unpacked: list[int]
) -> None:
    problem = upload(sci, flavour, _declare(bomb, b"xl/worksheets/sheet1.xml", 90_000_000), 413)
    assert "unpacks over 100 times its packed size" in problem["detail"] and unpacked == []


def test_a_bomb_that_declares_a_small_size_is_refused_after_that_size(
    flavour: Flavour, sci: Caller, bomb: bytes, unpacked: list[int]
) -> None:
    """zipfile stops at a member's declared size and checks its CRC, so the lie costs 200 KB, not 400 MB."""
    problem = upload(sci, flavour, _declare(bomb, b"xl/worksheets/sheet1.xml", 200_000), 422)
    assert "damaged or lies about its contents" in problem["detail"] and "CRC" in problem["detail"]
    assert sum(unpacked) < 300_000


def _two_sheets(first: list[list[Any]], second: list[list[Any]]) -> bytes:
    book = Workbook()
    for rows in (first, second):
        sheet_ = book.active if rows is first else book.create_sheet("other")
        assert sheet_ is not None
        for row in [HEADER[:6], *rows]:
            sheet_.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _garbled_sheet() -> bytes:
    """A valid archive whose sheet is not XML."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx(HEADER, [["D1", "PK-1", "Unipuck", 1, "s1", "lyso"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in source.infolist():
            garbled = member.filename == "xl/worksheets/sheet1.xml"
            archive.writestr(
                member,
                source.read(member).replace(b"</row>", b"</row><row r='3'><c", 1) if garbled else source.read(member),
            )
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (lambda a: csv(HEADER[:6], [["D1", "PK-1", "Unipuck", 1, "x" * 131_073, a]]), 422,
         "Row 2 is not readable CSV: a cell is over the 131,072-character limit"),
        (lambda a: csv(HEADER[:6], [["D1", "PK-1", "Unipuck", 1, "s1", a], ["D1", "PK\r1", "Unipuck", 2, "s2", a]]),
         422, "Row 3 is not readable CSV: a line break inside a cell that is not quoted"),
        (lambda a: ("x" * 131_073 + "\n").encode(), 422, "Row 1 is not readable CSV"),
        (lambda a: b"\xef\xbb\xbf", 422, "empty"),
        (lambda a: csv(HEADER, []).replace(b"\n", b"\r\n\r\n"), 422, "no rows"),
        (lambda a: csv(HEADER[:6], [r[:6] for r in sheet(800, a, uid())])[:-1] + b"\x00\n", 422,
         "'row': 801, 'column': 'Protein acronym'"),
        (lambda a: xlsx(HEADER, sheet(2, a, "T"))[:1500], 415, "Not a readable .xlsx"),
        (lambda a: _garbled_sheet(), 415, "Row 2 of the workbook is not readable"),
    ],
    ids=["huge-cell", "bare-cr", "huge-header", "bom-only", "header-only", "nul", "truncated-zip", "garbled-xml"],
)  # fmt: skip
def test_unreadable_sheets_are_4xx_naming_the_row(
    flavour: Flavour, sci: Caller, acronym: str, content: Any, status: int, says: str
) -> None:
    problem = upload(sci, flavour, content(acronym), status, name="s.csv")
    assert says in problem["detail"] + str(problem.get("errors", ""))
    assert samples_of(sci, flavour) == SAMPLES_OF_A


def test_the_first_of_two_sheets_and_10001_rows_are_read(flavour: Flavour, sci: Caller, acronym: str) -> None:
    tag = uid()
    two = _two_sheets([r[:6] for r in sheet(3, acronym, tag)], [["D9", "PK-9", "Unipuck", 1, "no", "none"]])
    assert upload(sci, flavour, two, 200, dryRun="true")["samples"] == 3
    many = upload(sci, flavour, csv(HEADER, sheet(10_001, acronym, tag)), 200, name="s.csv", dryRun="true")
    assert (many["rows"], many["containers"]) == (10_001, 626)


def test_startup_leaves_its_heap_out_of_later_collections(flavour: Flavour) -> None:
    """What a started service holds is frozen (``gc.freeze``): the full collections that a large import triggers
    then scan only what came later (they stop every thread: ~150 ms each over this process's heap, not frozen);
    unfrozen when it stops."""
    import gc
    import weakref

    gc.unfreeze()
    app = create_app(flavour.settings)
    with TestClient(app) as client:
        assert client.get("/ispyb/api/v1/health").status_code == 200
        collectable = {id(o) for o in gc.get_objects()}  # all but the frozen
        assert id(app) not in collectable and id(app.state.ispyb) not in collectable
    assert gc.get_freeze_count() == 0  # unfrozen on shutdown: a stopped app is collectable
    stopped = weakref.ref(app)
    del app, client
    gc.collect()
    assert stopped() is None


@pytest.mark.commits  # a real server of its own, on committed rows
def test_a_large_import_does_not_hold_up_other_requests(flavour: Flavour, acronym: str) -> None:
    """While a 100,000-row sheet is read and validated, /health keeps answering, far faster than the import
    (through a real server: the test client serves one request at a time). Its full collections are the pauses
    that count: without the startup heap frozen, one took up to ~0.8 s in a full run of the suite."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = flavour.settings.model_copy(update={"import_max_bytes": 20_000_000})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{port}/ispyb/api/v1"
    content = csv(HEADER[:6], [row[:6] for row in sheet(100_000, acronym, uid())])
    answer: dict[str, Any] = {}

    def run_import() -> None:
        start = time.monotonic()
        r = httpx.post(
            f"{base}/shippings/import",
            params={"proposal": flavour.data.proposals["a"], "dryRun": "true"},
            files={"file": ("big.csv", content)},
            headers=flavour.token("sci_a"),
            timeout=600,
        )
        answer.update(status=r.status_code, body=r.json(), seconds=time.monotonic() - start)

    try:
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.05)
        importing = threading.Thread(target=run_import)
        importing.start()
        latencies: list[float] = []
        with httpx.Client(timeout=600) as client:
            while importing.is_alive():
                start = time.monotonic()
                assert client.get(f"{base}/health").status_code == 200
                latencies.append(time.monotonic() - start)
                time.sleep(0.05)
        importing.join()
    finally:
        server.should_exit = True
        serving.join(30)
    assert answer["status"] == 200 and answer["body"]["rows"] == 100_000, answer
    assert len(latencies) >= 5 and max(latencies) < answer["seconds"] / 4, (max(latencies), answer["seconds"])
