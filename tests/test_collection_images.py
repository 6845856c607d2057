"""A data collection's pictures (py-ispyb's ``/datacollections/images...``): which column each serves, scoped like
every read, on both flavours."""

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.files import FilePool, in_file_thread
from relational.models import DataCollection, Image
from schemas.errors import FilesUnavailable
from tests.conftest import Flavour

API = "/ispyb/api/v1/datacollections/images"


async def _set(db: AsyncSession, dc_id: int, values: dict[str, Any]) -> None:
    await db.execute(update(DataCollection).where(DataCollection.dataCollectionId == dc_id).values(**values))


async def _plot(db: AsyncSession, dc_id: int, path: str) -> None:
    query = "UPDATE DataCollection SET imageQualityIndicatorsPlotPath = :p WHERE dataCollectionId = :id"
    await db.execute(text(query), {"p": path, "id": dc_id})


async def _image(db: AsyncSession, dc_id: int, number: int, jpeg: str, thumbnail: str) -> None:
    db.add(
        Image(dataCollectionId=dc_id, imageNumber=number, jpegFileFullPath=jpeg, jpegThumbnailFileFullPath=thumbnail)
    )
    await db.flush()


def _file(directory: Path, name: str) -> str:
    path = directory / name
    path.write_bytes(name.encode())
    return str(path)


def _snapshots(flavour: Flavour, data_dir: Path) -> int:
    """Collection a0 with four snapshots (the first with a py-ispyb thumbnail, the second with a ``_t`` one)."""
    dc = flavour.data.dcs["a0"]
    paths = {f"xtalSnapshotFullPath{i}": _file(data_dir, f"snap{i}.png") for i in range(1, 5)}
    _file(data_dir, "snap1t.png")
    _file(data_dir, "snap2_t.png")
    flavour.run(_set, dc, paths)
    return dc


def test_crystal_snapshots(flavour: Flavour, data_dir: Path) -> None:
    dc = _snapshots(flavour, data_dir)
    headers = flavour.token("sci_a")
    got = {i: flavour.client.get(f"{API}/{dc}", params={"imageId": i}, headers=headers) for i in range(1, 5)}
    assert {i: (r.status_code, r.content, r.headers["content-type"]) for i, r in got.items()} == {
        i: (200, f"snap{i}.png".encode(), "image/png") for i in range(1, 5)
    }
    assert flavour.client.get(f"{API}/{dc}", headers=headers).content == b"snap1.png"  # imageId defaults to 1
    thumbnails = {
        i: flavour.client.get(f"{API}/{dc}", params={"imageId": i, "snapshot": "true"}, headers=headers).content
        for i in range(1, 4)
    }
    assert thumbnails == {1: b"snap1t.png", 2: b"snap2_t.png", 3: b"snap3.png"}  # no thumbnail: the picture


def test_snapshot_not_stored_or_missing(flavour: Flavour, data_dir: Path) -> None:
    dc = flavour.data.dcs["a0"]
    flavour.run(_set, dc, {"xtalSnapshotFullPath1": str(data_dir / "gone.png"), "xtalSnapshotFullPath2": None})
    headers = flavour.token("sci_a")
    for image in (1, 2):
        for snapshot in ("false", "true"):
            params = {"imageId": image, "snapshot": snapshot}
            r = flavour.client.get(f"{API}/{dc}", params=params, headers=headers)
            assert (r.status_code, r.json()["detail"]) == (404, "File not found")


@pytest.mark.parametrize(
    ("role", "status"), [("sci_a", 200), ("staff", 200), ("admin", 200), ("sci_b", 404), ("nobody", 404)]
)
def test_out_of_reach_is_404(flavour: Flavour, data_dir: Path, role: str, status: int) -> None:
    dc = _snapshots(flavour, data_dir)
    if flavour.name == "official":
        flavour.run(_plot, dc, _file(data_dir, "plot.png"))
    flavour.run(_image, dc, 1, _file(data_dir, "f.jpeg"), _file(data_dir, "f_t.jpeg"))
    headers = flavour.token(role)
    answers = [
        flavour.client.get(f"{API}/{dc}", headers=headers).status_code,
        flavour.client.get(f"{API}/{dc}", params={"snapshot": "true"}, headers=headers).status_code,
        flavour.client.get(f"{API}/diffraction/{dc}", headers=headers).status_code,
        flavour.client.get(f"{API}/diffraction/{dc}", params={"snapshot": "true"}, headers=headers).status_code,
    ]
    assert answers == [status] * 4
    if flavour.name == "official":
        assert flavour.client.get(f"{API}/quality/{dc}", headers=headers).status_code == status


def test_diffraction_jpeg_of_the_first_image(flavour: Flavour, data_dir: Path) -> None:
    dc, other = flavour.data.dcs["a0"], flavour.data.dcs["a1"]
    flavour.run(_image, dc, 2, _file(data_dir, "second.jpeg"), _file(data_dir, "second_t.jpeg"))
    flavour.run(_image, dc, 1, _file(data_dir, "first.jpeg"), _file(data_dir, "first_t.jpeg"))
    headers = flavour.token("sci_a")
    full = flavour.client.get(f"{API}/diffraction/{dc}", headers=headers)
    assert (full.status_code, full.content, full.headers["content-type"]) == (200, b"first.jpeg", "image/jpeg")
    thumbnail = flavour.client.get(f"{API}/diffraction/{dc}", params={"snapshot": "true"}, headers=headers)
    assert thumbnail.content == b"first_t.jpeg"
    assert flavour.client.get(f"{API}/diffraction/{other}", headers=headers).status_code == 404  # no image


def test_quality_plot(flavour: Flavour, data_dir: Path) -> None:
    dc = flavour.data.dcs["a1"]
    headers = flavour.token("sci_a")
    if flavour.name == "dls":  # Diamond's DataCollection has no imageQualityIndicatorsPlotPath
        assert flavour.client.get(f"{API}/quality/{dc}", headers=headers).status_code == 404
        return
    assert flavour.client.get(f"{API}/quality/{dc}", headers=headers).status_code == 404  # none stored
    flavour.run(_plot, dc, _file(data_dir, "dozor.png"))
    r = flavour.client.get(f"{API}/quality/{dc}", headers=headers)
    assert (r.status_code, r.content, r.headers["content-type"]) == (200, b"dozor.png", "image/png")


def test_a_stored_path_outside_the_roots_is_refused_and_logged(
    flavour: Flavour, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dc = flavour.data.dcs["a0"]
    outside = _file(tmp_path, "outside.png")
    flavour.run(_set, dc, {"xtalSnapshotFullPath1": outside})
    with caplog.at_level(logging.WARNING, logger="app.files.serve"):
        r = flavour.client.get(f"{API}/{dc}", headers=flavour.token("sci_a"))
    assert r.status_code == 404
    [record] = [rec for rec in caplog.records if rec.name == "app.files.serve"]
    assert record.getMessage() == (
        f"file refused to sci_a_{flavour.name}: {outside!r}: {outside!r} is under none of ISPYB_DATA_ROOTS"
    )


def test_bad_requests(flavour: Flavour) -> None:
    dc = flavour.data.dcs["a0"]
    headers = flavour.token("sci_a")
    for params in ({"imageId": 0}, {"imageId": 5}, {"imageId": "x"}, {"snapshot": "maybe"}):
        assert flavour.client.get(f"{API}/{dc}", params=params, headers=headers).status_code == 422, params
    for path in ("0", "-1", str(2**32), "x"):
        assert flavour.client.get(f"{API}/{path}", headers=headers).status_code == 422, path
        assert flavour.client.get(f"{API}/diffraction/{path}", headers=headers).status_code == 422, path
    assert flavour.client.get(f"{API}/{2**32 - 1}", headers=headers).status_code == 404
    for path in (f"{API}/{dc}", f"{API}/diffraction/{dc}", f"{API}/quality/{dc}"):
        r = flavour.client.get(path)
        assert (r.status_code, r.json()["detail"]) == (401, "No token provided"), path


def test_a_hung_mount_leaves_other_routes_alone(
    flavour: Flavour, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file thread held by calls that never return: pictures answer 503 at once, the rest as ever."""
    dc = _snapshots(flavour, data_dir)
    headers = flavour.token("sci_a")
    monkeypatch.setattr(flavour.state, "files", FilePool(2, 0.5))
    portal, gate = flavour.client.portal, threading.Event()
    assert portal is not None
    try:
        for _ in range(2):
            with pytest.raises(FilesUnavailable):
                portal.call(in_file_thread, flavour.state, gate.wait, 10)
        started = time.monotonic()
        picture = flavour.client.get(f"{API}/{dc}", headers=headers)
        assert (picture.status_code, picture.headers["retry-after"]) == (503, "5")
        assert flavour.client.get("/ispyb/api/v1/user/current", headers=headers).status_code == 200
        assert flavour.client.get(f"/ispyb/api/v1/datacollections/{dc}", headers=headers).status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        gate.set()
    deadline = time.monotonic() + 2
    while flavour.state.files.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flavour.client.get(f"{API}/{dc}", headers=headers).content == b"snap1.png"
    flavour.state.files.close()
