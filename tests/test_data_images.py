"""GET /data/images, /header, /histogram: frames written here with fabio (CBF) and h5py (an Eiger-style master
with an external data file), read back through the service on both flavours."""

import asyncio
import io
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import h5py  # type: ignore[import-untyped]
import hdf5plugin
import numpy as np
import pytest
from fabio.cbfimage import CbfImage  # type: ignore[import-untyped]
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import demo_files
from app.main import create_app
from app.services.diffraction import FrameCache
from app.settings import Settings
from relational import demo
from relational.db import Database
from relational.models import DataCollection
from tests.conftest import Flavour

API = "/ispyb/api/v1/data/images"
MINI_HEADER = (
    "# Detector: PILATUS3 6M, S/N 60-0100\r\n# Pixel_size 172e-6 m x 172e-6 m\r\n# Wavelength 0.97625 A\r\n"
    "# Detector_distance 0.25000 m\r\n# Beam_xy (15.50, 12.25) pixels\r\n# Exposure_time 0.01 s\r\n"
)
SHAPE = (24, 32)  # height, width


def _pixels(seed: int, dtype: str) -> np.ndarray:
    data = np.random.default_rng(seed).poisson(4, SHAPE).astype(dtype)
    data[5, 7] = 900  # a spot
    return data


def _point(flavour: Flavour, dc: str, directory: Path | str, template: str, images: int, start: int = 1) -> int:
    async def write(db: AsyncSession) -> None:
        await db.execute(
            update(DataCollection)
            .where(DataCollection.dataCollectionId == flavour.data.dcs[dc])
            .values(imageDirectory=str(directory), fileTemplate=template, numberOfImages=images, startImageNumber=start)
        )

    flavour.run(write)
    return flavour.data.dcs[dc]


def _cbf_frames(directory: Path) -> list[np.ndarray]:
    """Frames 1 and 2 (files x_00001.cbf, x_00002.cbf), a Pilatus gap row of -1 in each."""
    frames = []
    for number in (1, 2):
        data = _pixels(number, "int32")
        data[10, :] = -1
        header = {"_array_data.header_contents": MINI_HEADER}
        CbfImage(data=data, header=header).write(str(directory / f"x_{number:05d}.cbf"))
        frames.append(data)
    return frames


def _eiger(directory: Path, data_directory: Path | None = None) -> np.ndarray:
    """An Eiger-style master (geometry in /entry/instrument) linking to one data file of frames 1..4, bitshuffle
    and LZ4 compressed, with a gap column of 2^32 - 1."""
    stack = np.stack([_pixels(10 + i, "uint32") for i in range(4)])
    stack[:, :, 3] = 2**32 - 1
    data_directory = data_directory or directory
    with h5py.File(data_directory / "e_data_000001.h5", "w") as f:
        ds = f.create_dataset("entry/data/data", data=stack, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle(cname="lz4"))
        ds.attrs["image_nr_low"], ds.attrs["image_nr_high"] = np.uint64(1), np.uint64(4)
    with h5py.File(directory / "e_master.h5", "w") as f:
        f["entry/data/data_000001"] = h5py.ExternalLink(
            os.path.relpath(data_directory / "e_data_000001.h5", directory), "entry/data/data"
        )
        instrument = f.create_group("entry/instrument")
        instrument["beam/incident_wavelength"] = 1.0332
        instrument["detector/detector_distance"] = 180.0
        instrument["detector/detector_distance"].attrs["units"] = "mm"
        for name, value in (("x_pixel_size", 75e-6), ("y_pixel_size", 75e-6)):
            instrument[f"detector/{name}"] = value
        instrument["detector/beam_center_x"], instrument["detector/beam_center_y"] = 16.0, 11.0
    return stack


def _get(flavour: Flavour, path: str, role: str = "sci_a", **params: object) -> tuple[int, bytes, dict[str, str]]:
    return _ask(flavour, path, role, params)


def _ask(flavour: Flavour, path: str, role: str, params: dict[str, object]) -> tuple[int, bytes, dict[str, str]]:
    r = flavour.client.get(f"{API}{path}", params=params, headers=flavour.token(role))
    return r.status_code, r.content, dict(r.headers)


def _cache(flavour: Flavour) -> FrameCache:
    cache: FrameCache = flavour.client.app.state.frames  # type: ignore[attr-defined]
    return cache


def _valid(data: np.ndarray) -> np.ndarray:
    keep = data >= 0
    if np.issubdtype(data.dtype, np.integer):
        keep &= data != np.iinfo(data.dtype).max
    return data[keep]


def test_a_cbf_frame_its_header_and_histogram(flavour: Flavour, data_dir: Path) -> None:
    frames = _cbf_frames(data_dir)
    dc = _point(flavour, "a0", data_dir, "x_%05d.cbf", images=2)
    status, body, headers = _get(flavour, "", dataCollectionId=dc, imageNumber=2)
    assert (status, headers["content-type"]) == (200, "application/octet-stream")
    assert body == frames[1].astype("<f4").tobytes()

    status, body, _ = _get(flavour, "/header", dataCollectionId=dc, imageNumber=2)
    assert status == 200, body
    header = json.loads(body)
    valid = _valid(frames[1]).astype(np.float64)
    assert header["parsed_ext_hdr"]["Wavelength"] == "0.97625 A"
    assert header["parsed_ext_hdr"]["Beam_xy"] == "(15.50, 12.25) pixels"
    hdr = header["braggy_hdr"]
    assert {
        k: hdr[k] for k in ("img_width", "img_height", "wavelength", "detector_distance", "beam_cx", "beam_cy")
    } == {
        "img_width": 32,
        "img_height": 24,
        "wavelength": 0.97625,
        "detector_distance": 0.25,
        "beam_cx": 15.5,
        "beam_cy": 12.25,
    }
    assert (hdr["beam_ocx"], hdr["beam_ocy"], hdr["pixel_size_x"], hdr["pixel_size_y"]) == (0.5, -0.25, 172e-6, 172e-6)
    assert hdr["pxxpm"] == pytest.approx(1 / 172e-6)
    assert hdr["detector_radius"] == pytest.approx(np.hypot(32 * 172e-6, 24 * 172e-6) / 2)
    assert (hdr["min"], hdr["max"], hdr["positive_min"]) == (valid.min(), 900.0, valid.min())
    assert hdr["strict_positive_min"] == valid[valid > 0].min()
    assert hdr["mean"] == pytest.approx(valid.mean()) and hdr["std"] == pytest.approx(valid.std())

    histogram = json.loads(_get(flavour, "/histogram", dataCollectionId=dc, imageNumber=2)[1])
    kept = valid[valid < valid.mean() + 3 * valid.std()]
    assert sum(histogram["values"]) == kept.size  # every pixel kept counted once, the top value too
    assert histogram["shape"] == [len(histogram["values"])] == [int(kept.max() - kept.min()) + 1]
    assert histogram["bins"] == [float(kept.min()) + i for i in range(len(histogram["values"]) + 1)]
    assert histogram["values"] == np.bincount((kept - kept.min()).astype(int)).tolist()
    assert histogram["max"] == max(histogram["values"])


def test_an_hdf5_frame_behind_an_external_link(flavour: Flavour, data_dir: Path) -> None:
    stack = _eiger(data_dir)
    dc = _point(flavour, "a0", data_dir, "e_master.h5", images=4)
    status, body, _ = _get(flavour, "", dataCollectionId=dc, imageNumber=3)
    assert status == 200
    assert np.array_equal(np.frombuffer(body, "<f4").reshape(SHAPE), stack[2].astype(np.float32))

    status, body, _ = _get(flavour, "/header", dataCollectionId=dc, imageNumber=3)
    hdr = json.loads(body)["braggy_hdr"]
    valid = _valid(stack[2]).astype(np.float64)
    assert (hdr["wavelength"], hdr["detector_distance"], hdr["beam_ocx"], hdr["beam_ocy"]) == (1.0332, 0.18, 0.0, 1.0)
    assert (hdr["min"], hdr["max"]) == (valid.min(), 900.0)  # the gap column (2^32 - 1) left out
    status, body, _ = _get(flavour, "/histogram", dataCollectionId=dc, imageNumber=3)
    kept = valid[valid < valid.mean() + 3 * valid.std()]
    assert sum(json.loads(body)["values"]) == kept.size


def test_a_rendered_picture(flavour: Flavour, data_dir: Path) -> None:
    _cbf_frames(data_dir)
    dc = _point(flavour, "a0", data_dir, "x_%05d.cbf", images=2)
    status, body, headers = _get(flavour, "", dataCollectionId=dc, imageNumber=1, format="png", size=16)
    assert (status, headers["content-type"]) == (200, "image/png")
    picture = Image.open(io.BytesIO(body))
    assert (picture.format, picture.mode, picture.size) == ("PNG", "L", (16, 12))
    assert np.asarray(picture)[2, 3] == 0  # the spot (5, 7) falls in block (2, 3): its brightest, shown black
    status, body, _ = _get(flavour, "", dataCollectionId=dc, imageNumber=1, format="png")
    pixels = np.asarray(Image.open(io.BytesIO(body)))
    assert (pixels.shape, pixels[5, 7], pixels[10].tolist()) == (SHAPE, 0, [255] * 32)  # the gap row white
    status, body, headers = _get(flavour, "", dataCollectionId=dc, imageNumber=1, format="jpeg")
    assert (status, headers["content-type"], Image.open(io.BytesIO(body)).size) == (200, "image/jpeg", (32, 24))


def test_the_cache_serves_the_same_bytes_without_reading_again(flavour: Flavour, data_dir: Path) -> None:
    frames = _cbf_frames(data_dir)
    dc = _point(flavour, "a0", data_dir, "x_%05d.cbf", images=2)
    _, first, _ = _get(flavour, "", dataCollectionId=dc, imageNumber=1)
    reads = _cache(flavour).reads
    _, again, _ = _get(flavour, "", dataCollectionId=dc, imageNumber=1)
    assert [_get(flavour, p, dataCollectionId=dc, imageNumber=1)[0] for p in ("/header", "/histogram")] == [200, 200]
    assert (again, _cache(flavour).reads) == (first, reads)  # pixels, header and histogram from one read

    changed = frames[0] + 1
    CbfImage(data=changed, header={"_array_data.header_contents": MINI_HEADER}).write(str(data_dir / "x_00001.cbf"))
    os.utime(data_dir / "x_00001.cbf", ns=(1, 1))  # a new mtime, even within the file system's time resolution
    _, fresh, _ = _get(flavour, "", dataCollectionId=dc, imageNumber=1)
    assert (fresh, _cache(flavour).reads) == (changed.astype("<f4").tobytes(), reads + 1)


@pytest.mark.parametrize(
    ("role", "expected"), [("sci_a", 200), ("admin", 200), ("staff", 200), ("sci_b", 404), ("nobody", 404)]
)
def test_who_reaches_a_frame(flavour: Flavour, data_dir: Path, role: str, expected: int) -> None:
    _cbf_frames(data_dir)
    dc = _point(flavour, "a0", data_dir, "x_%05d.cbf", images=2)
    for path in ("", "/header", "/histogram"):
        assert _get(flavour, path, role, dataCollectionId=dc, imageNumber=1)[0] == expected


def test_refusals(flavour: Flavour, data_dir: Path) -> None:
    _cbf_frames(data_dir)
    (data_dir / "junk_00001.cbf").write_bytes(b"###CBF: not really\n" + os.urandom(300))
    (data_dir / "junk_master.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(300))
    dc = _point(flavour, "a0", data_dir, "x_%05d.cbf", images=3)
    cases: dict[str, tuple[dict[str, object], int]] = {
        "beyond numberOfImages": ({"imageNumber": 4}, 404),
        "a frame whose file is missing": ({"imageNumber": 3}, 404),
        "image 0": ({"imageNumber": 0}, 422),
        "no image number": ({}, 422),
        "another collection's id": ({"imageNumber": 1, "dataCollectionId": 2**31 - 1}, 404),
    }
    for name, (params, expected) in cases.items():
        assert _ask(flavour, "", "sci_a", {"dataCollectionId": dc} | params)[0] == expected, name
    assert flavour.client.get(API, params={"dataCollectionId": dc, "imageNumber": 1}).status_code == 401

    for template, expected in (("junk_%05d.cbf", 422), ("junk_master.h5", 422)):
        _point(flavour, "a0", data_dir, template, images=1)
        status, body, headers = _get(flavour, "", dataCollectionId=dc, imageNumber=1)
        assert (status, headers["content-type"]) == (expected, "application/problem+json"), (template, body)

    _eiger(data_dir)
    _point(flavour, "a0", data_dir, "e_master.h5", images=9)
    assert _get(flavour, "", dataCollectionId=dc, imageNumber=5)[0] == 404  # the file holds frames 1..4
    _point(flavour, "a0", "/etc", "passwd", images=1)
    assert _get(flavour, "", dataCollectionId=dc, imageNumber=1)[0] == 404
    _point(flavour, "a0", f"{data_dir}/../..", "x_%05d.cbf", images=1)
    assert _get(flavour, "", dataCollectionId=dc, imageNumber=1)[0] == 404


def test_a_master_linking_out_of_the_data_roots(flavour: Flavour, data_dir: Path) -> None:
    outside = Path(tempfile.mkdtemp(prefix="ispyb-outside-"))
    try:
        _eiger(data_dir, data_directory=outside)
        dc = _point(flavour, "a0", data_dir, "e_master.h5", images=4)
        assert _get(flavour, "", dataCollectionId=dc, imageNumber=1)[0] == 404
    finally:
        shutil.rmtree(outside)


def test_the_cache_keeps_to_its_size_and_computes_once() -> None:
    async def run() -> tuple[list[object], int, list[str]]:
        cache, calls = FrameCache(capacity=10), 0

        async def make() -> bytes:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            return b"abcd"

        together = await asyncio.gather(*(cache.through("k", make, len) for _ in range(5)))
        for key in ("x", "y", "z"):
            cache.put(key, key * 4, 4)  # 12 bytes with k's 4: k then x go
        cache.put("big", b"", 11)  # larger than the cache: never kept
        return together, calls, [k for k in ("k", "x", "y", "z", "big") if cache.get(k) is not None]

    together, calls, kept = asyncio.run(run())
    assert (together, calls, kept) == ([b"abcd"] * 5, 1, ["y", "z"])


async def _seed_demo(url: str, settings: Settings) -> None:
    database = Database(url)
    try:
        await database.start()
        async with database.sessions() as db:
            await demo.seed(db, mx_collections=4)
            await db.commit()
        assert await demo_files.seed(database, settings)
    finally:
        await database.dispose()


def test_the_demo_files_show_in_the_image_viewer(tmp_path: Path, mongo_url: str) -> None:
    """The embedded default's demo: every MX collection's frames, snapshots and first image's JPEGs are served."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"
    settings = Settings(
        _env_file=None,
        mode="embedded",
        sql_url=url,
        mongo_url=mongo_url,
        mongo_db=f"demo_{uuid.uuid4().hex[:8]}",
        auth_plugins=["dummy"],
        data_roots=[str(tmp_path / "files")],
    )
    asyncio.run(_seed_demo(url, settings))
    with TestClient(create_app(settings)) as client:
        token = client.post("/ispyb/api/v1/auth/login", json={"plugin": "dummy", "login": "admin"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = client.get("/ispyb/api/v1/events", params={"limit": 100}, headers=headers)
        mx = sorted(e["id"] for e in r.json()["results"] if (e["Item"].get("fileTemplate") or "").startswith("xtal_"))
        assert len(mx) == 4
        for dc in mx:
            count = 4 if dc % 2 == 0 else 8  # CBF frames, HDF5 frames
            params = {"dataCollectionId": dc, "imageNumber": count}
            header = client.get(f"{API}/header", params=params, headers=headers).json()["braggy_hdr"]
            assert (header["img_width"], header["img_height"], header["wavelength"]) == (512, 512, 0.9763)
            pixels = client.get(API, params=params, headers=headers)
            assert (pixels.status_code, len(pixels.content)) == (200, 512 * 512 * 4)
            beyond = {"dataCollectionId": dc, "imageNumber": count + 1}
            assert client.get(API, params=beyond, headers=headers).status_code == 404
            pictures = [f"images/{dc}?imageId={i}" for i in range(1, 5)] + [f"images/{dc}?imageId=1&snapshot=true"]
            pictures += [f"images/diffraction/{dc}", f"images/diffraction/{dc}?snapshot=true"]
            answers = [client.get(f"/ispyb/api/v1/datacollections/{p}", headers=headers) for p in pictures]
            assert [(a.status_code, a.headers["content-type"]) for a in answers] == [(200, "image/jpeg")] * 7
