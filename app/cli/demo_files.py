"""The embedded default's demo files, written under the first data root (``.ispyb-data/files/demo``) when the demo
is seeded: synthetic diffraction frames as a Pilatus writes them (CBF) and as an Eiger does (an HDF5 master and a
bitshuffle/LZ4 data file), four crystal snapshots with their thumbnails, and the first image's JPEG and thumbnail;
then the demo's MX collections point at them (``relational/demo_files.py``)."""

import asyncio
import math
from pathlib import Path

import h5py  # type: ignore[import-untyped]
import hdf5plugin
import numpy as np
from fabio.cbfimage import CbfImage  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

from app.services import diffraction_files
from app.settings import Settings
from relational import demo_files
from relational.db import Database
from relational.demo_files import DemoFiles, FrameSet

SHAPE = (512, 512)  #: height, width: a corner of a detector, small enough to write in a blink
CBF_FRAMES, HDF5_FRAMES = 4, 8
WAVELENGTH, DISTANCE, PIXEL = 0.9763, 0.25, 172e-6  #: Å, m, m
BEAM = (250.5, 262.0)  #: x, y in pixels
MINI_HEADER = (
    "# Detector: PILATUS3 6M (demo), S/N 60-0000\r\n"
    f"# Pixel_size {PIXEL:.0e} m x {PIXEL:.0e} m\r\n"
    "# Exposure_time 0.0100000 s\r\n"
    f"# Wavelength {WAVELENGTH} A\r\n"
    f"# Detector_distance {DISTANCE:.5f} m\r\n"
    f"# Beam_xy ({BEAM[0]:.2f}, {BEAM[1]:.2f}) pixels\r\n"
    "# Start_angle {angle:.4f} deg.\r\n# Angle_increment 0.1000 deg.\r\n"
)


def _frame(rng: np.random.Generator, number: int) -> np.ndarray:
    """Counts of a rotating lattice's spots over a diffuse background and an ice ring (int32, Poisson)."""
    y, x = np.indices(SHAPE)
    r = np.hypot(x - BEAM[0], y - BEAM[1])
    mean = 1.5 + 40 * np.exp(-r / 40) + 4 * np.exp(-(((r - 190) / 5) ** 2))
    turn = math.radians(7 * number)
    for h in range(-12, 13):
        for k in range(-12, 13):
            sx = BEAM[0] + 19 * (h * math.cos(turn) - k * math.sin(turn))
            sy = BEAM[1] + 23 * (h * math.sin(turn) + k * math.cos(turn))
            if (h, k) != (0, 0) and 3 <= sx < SHAPE[1] - 3 and 3 <= sy < SHAPE[0] - 3 and rng.random() < 0.35:
                peak = rng.exponential(400) * math.exp(-math.hypot(h, k) / 8)
                iy, ix = int(sy), int(sx)
                window = (slice(iy - 3, iy + 4), slice(ix - 3, ix + 4))
                mean[window] += peak * np.exp(-((x[window] - sx) ** 2 + (y[window] - sy) ** 2) / 2)
    counts: np.ndarray = rng.poisson(mean).astype(np.int32)
    return counts


def _cbf(directory: Path, rng: np.random.Generator) -> FrameSet:
    for number in range(1, CBF_FRAMES + 1):
        data = _frame(rng, number)
        data[195:212, :] = -1  # the gap between two rows of modules
        header = {"_array_data.header_contents": MINI_HEADER.format(angle=0.1 * (number - 1))}
        CbfImage(data=data, header=header).write(str(directory / f"xtal_1_{number:05d}.cbf"))
    return FrameSet(str(directory), "xtal_1_%05d.cbf", CBF_FRAMES)


def _hdf5(directory: Path, rng: np.random.Generator) -> FrameSet:
    stack = np.stack([_frame(rng, n) for n in range(1, HDF5_FRAMES + 1)]).astype(np.uint32)
    stack[:, :, 255:262] = np.iinfo(np.uint32).max  # the gap between two columns of modules
    with h5py.File(directory / "xtal_2_data_000001.h5", "w") as f:
        data = f.create_dataset("entry/data/data", data=stack, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle(cname="lz4"))
        data.attrs["image_nr_low"], data.attrs["image_nr_high"] = np.uint64(1), np.uint64(HDF5_FRAMES)
    with h5py.File(directory / "xtal_2_master.h5", "w") as f:
        f["entry/data/data_000001"] = h5py.ExternalLink("xtal_2_data_000001.h5", "entry/data/data")
        detector = f.create_group("entry/instrument/detector")
        f["entry/instrument/beam/incident_wavelength"] = WAVELENGTH
        for name, value in (("detector_distance", DISTANCE), ("x_pixel_size", 75e-6), ("y_pixel_size", 75e-6)):
            detector[name] = value
            detector[name].attrs["units"] = "m"
        detector["beam_center_x"], detector["beam_center_y"] = BEAM
    return FrameSet(str(directory), "xtal_2_master.h5", HDF5_FRAMES)


def _snapshot(path: Path, view: int) -> None:
    """A crystal in its loop on a pin, seen at omega = 90° x ``view``, with the beam's crosshair; and its
    thumbnail beside it (``xt.jpg``: where py-ispyb looks for one)."""
    picture = Image.new("RGB", (640, 480), (38, 52, 66))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 228, 250, 252), fill=(150, 150, 140))  # the pin
    draw.ellipse((250, 160, 430, 320), outline=(200, 200, 190), width=4)  # the loop
    squash = abs(math.cos(math.radians(90 * view + 30)))
    half_w, half_h = 24 + 30 * squash, 36
    corners = [(-half_w, 0), (-half_w / 2, -half_h), (half_w / 2, -half_h), (half_w, 0), (0, half_h)]
    draw.polygon([(340 + dx, 240 + dy) for dx, dy in corners], fill=(205, 190, 120), outline=(240, 230, 170))
    draw.line((320, 220, 320, 260), fill=(220, 40, 40), width=2)
    draw.line((300, 240, 340, 240), fill=(220, 40, 40), width=2)
    draw.text((12, 12), f"demo crystal, omega {90 * view} deg", fill=(230, 230, 230))
    picture.save(path, quality=88)
    picture.resize((160, 120)).save(path.with_name(f"{path.stem}t{path.suffix}"), quality=85)


def write(root: Path) -> DemoFiles:
    """Write the demo files under ``root`` (its ``mx`` and ``snapshots`` folders); where they are (absolute)."""
    root = root.resolve()
    mx, snapshots = root / "mx", root / "snapshots"
    mx.mkdir(parents=True, exist_ok=True)
    snapshots.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    cbf, hdf5 = _cbf(mx, rng), _hdf5(mx, rng)
    first = diffraction_files.read(mx / "xtal_1_00001.cbf", 1, hdf5=False, roots=[str(root)])
    jpeg, thumbnail = mx / "xtal_1_00001.jpeg", mx / "xtal_1_00001.thumb.jpeg"
    jpeg.write_bytes(diffraction_files.render(first, "jpeg", max(SHAPE)))
    thumbnail.write_bytes(diffraction_files.render(first, "jpeg", 128))
    shots = [snapshots / f"xtal_1_{view + 1}.jpg" for view in range(4)]
    for view, path in enumerate(shots):
        _snapshot(path, view)
    return DemoFiles(cbf, hdf5, (str(shots[0]), str(shots[1]), str(shots[2]), str(shots[3])), str(jpeg), str(thumbnail))


async def seed(database: Database, settings: Settings) -> bool:
    """Once the demo is seeded: write the demo files under the first of ISPYB_DATA_ROOTS and point the demo's MX
    collections at them (committed). False when no data root is set: the collections keep naming /data/demo."""
    if not settings.data_roots:
        return False
    files = await asyncio.to_thread(write, Path(settings.data_roots[0]) / "demo")
    async with database.write_sessions() as db:
        await demo_files.point_at(db, files)
        await db.commit()
    return True
