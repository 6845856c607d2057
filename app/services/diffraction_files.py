"""A diffraction frame read from the detector's files into float32 pixels, its header and its histogram, and
rendered as PNG/JPEG. fabio reads CBF and its other formats (ADSC, MAR, EDF, TIFF…), h5py with hdf5plugin's
filters reads HDF5 (an Eiger master and its data files, NeXus). Blocking: the caller runs these in threads."""

import io
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import fabio  # type: ignore[import-untyped]
import h5py  # type: ignore[import-untyped]
import hdf5plugin  # noqa: F401  (registers the Eiger's bitshuffle/LZ4 filters with HDF5)
import numpy as np
from PIL import Image

from app.files import paths
from schemas.data import BraggyHeader, FrameHeader, FrameHistogram
from schemas.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)
#: a frame of more pixels is refused (422): bounds a request's time and memory (an Eiger2 16M has 18 M pixels)
MAX_PIXELS = 64 * 1024 * 1024
HDF5_SUFFIXES = frozenset({".h5", ".hdf5", ".hdf", ".nxs"})
Rendering = Literal["png", "jpeg"]
_PRINTF = re.compile(r"%(0?\d*)d")
_HASHES = re.compile(r"#+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: metres per unit of a NeXus length, and Ångströms per unit of a wavelength
_METRES = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9}
_ANGSTROMS = {"angstrom": 1.0, "a": 1.0, "å": 1.0, "nm": 10.0, "m": 1e10}


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its pixels as py-ispyb sends them (float32, little-endian, row after row)."""

    pixels: bytes
    height: int
    width: int
    header: FrameHeader
    histogram: FrameHistogram

    def array(self) -> np.ndarray:
        return np.frombuffer(self.pixels, "<f4").reshape(self.height, self.width)


@dataclass(frozen=True)
class _Geometry:
    wavelength: float | None = None  #: Å
    distance: float | None = None  #: m
    beam_x: float | None = None  #: pixels
    beam_y: float | None = None
    pixel_x: float | None = None  #: m
    pixel_y: float | None = None


def is_hdf5(template: str) -> bool:
    return Path(template).suffix.lower() in HDF5_SUFFIXES


def file_name(template: str, number: int) -> str:
    """The file of image ``number`` by a template in printf style (``x_%04d.cbf``) or with hashes (``x_####.cbf``)."""
    if _PRINTF.search(template):
        return _PRINTF.sub(lambda m: format(number, f"{m.group(1)}d"), template)
    return _HASHES.sub(lambda m: str(number).zfill(len(m.group())), template)


def read(path: Path, number: int, hdf5: bool, roots: Sequence[str]) -> Frame:
    """Frame ``number`` (1-based, the series' own numbering in HDF5) of the file; ``NotFound`` when the file
    holds no such frame or an HDF5 file links to one outside ``roots``, ``InvalidInput`` when it cannot be read."""
    try:
        data, geometry, text = _hdf5(path, number, roots) if hdf5 else _fabio(path)
    except (NotFound, InvalidInput):
        raise
    except Exception as exc:  # fabio signals a corrupt file with any class (AssertionError, AttributeError…)
        logger.warning("diffraction frame %s of %s unreadable: %r", number, path, exc)
        raise InvalidInput(f"Image {number} cannot be read ({type(exc).__name__})") from None
    return _frame(data, geometry, text)


def _fabio(path: Path) -> tuple[np.ndarray, _Geometry, dict[str, str]]:
    if path.stat().st_size > 4 * MAX_PIXELS:
        raise InvalidInput(f"Image file too large ({path.stat().st_size} bytes)")
    image = fabio.open(str(path))
    data = image.data
    if data is None or data.ndim != 2:
        raise InvalidInput("The file holds no two-dimensional image")
    header = {str(k): str(v) for k, v in image.header.items()}
    mini = header.get("_array_data.header_contents")
    if mini is None:
        return data, _Geometry(), header
    text = _mini_header(mini)
    return data, _cbf_geometry(text), text


def _mini_header(contents: str) -> dict[str, str]:
    """A Pilatus/Eiger CBF's ``# Key value`` lines."""
    found = {}
    for line in contents.splitlines():
        words = line.strip().strip("#").split()
        if words:
            found[words[0].rstrip(":,")] = " ".join(words[1:])
    return found


def _numbers(text: str | None) -> list[float]:
    return [float(n) for n in _NUMBER.findall(text or "")]


def _cbf_geometry(text: dict[str, str]) -> _Geometry:
    wavelength, distance = _numbers(text.get("Wavelength"))[:1], _numbers(text.get("Detector_distance"))[:1]
    beam, pixel = _numbers(text.get("Beam_xy"))[:2], _numbers(text.get("Pixel_size"))[:2]
    return _Geometry(
        wavelength=wavelength[0] if wavelength else None,
        distance=distance[0] if distance else None,
        beam_x=beam[0] if len(beam) == 2 else None,
        beam_y=beam[1] if len(beam) == 2 else None,
        pixel_x=pixel[0] if len(pixel) == 2 else None,
        pixel_y=pixel[1] if len(pixel) == 2 else None,
    )


def _hdf5(path: Path, number: int, roots: Sequence[str]) -> tuple[np.ndarray, _Geometry, dict[str, str]]:
    with h5py.File(path, "r") as file:
        dataset, index = _locate(file, number, roots)
        if math.prod(dataset.shape[-2:]) > MAX_PIXELS:
            raise InvalidInput(f"Image of {dataset.shape[-2:]} pixels is too large")
        data = dataset[index] if dataset.ndim == 3 else dataset[()]
        return np.asarray(data), _hdf5_geometry(file), {}


def _locate(file: h5py.File, number: int, roots: Sequence[str]) -> tuple[h5py.Dataset, int]:
    """The dataset holding frame ``number`` and its index there: by the Eiger's ``image_nr_low``/``high`` on each
    data file's dataset, else counting the frames of ``/entry/data``'s datasets in name order."""
    group = file.get("entry/data")
    if not isinstance(group, h5py.Group):
        raise InvalidInput("The file has no /entry/data group")
    first = 1
    for name in sorted(group):
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            _linked(file.filename, link.filename, roots)
        try:
            item = group[name]
        except KeyError:  # an external link to a data file not (yet) written
            raise NotFound(f"Image {number}: the data file behind /entry/data/{name} is missing") from None
        if not isinstance(item, h5py.Dataset) or item.ndim not in (2, 3):
            continue
        if item.is_virtual:
            for source in item.virtual_sources():
                _linked(item.file.filename, source.file_name, roots)
        low, high = item.attrs.get("image_nr_low"), item.attrs.get("image_nr_high")
        if low is None or high is None:
            low, high = first, first + (item.shape[0] if item.ndim == 3 else 1) - 1
        if int(low) <= number <= int(high):
            return item, number - int(low)
        first = int(high) + 1
    raise NotFound(f"Image {number} is not in the file")


def _linked(master: str, target: str, roots: Sequence[str]) -> None:
    """A file an HDF5 file links to must be inside the data roots too (``NotFound`` otherwise, logged)."""
    if target == ".":  # a virtual dataset's sources in its own file
        return
    local = os.path.normpath(os.path.join(os.path.dirname(master), target))
    try:
        paths.resolved(local, roots)
    except (paths.Refused, paths.Missing) as exc:
        logger.warning("HDF5 file %s links to %s: %s", master, target, exc)
        raise NotFound("The image's data file is missing or outside the data roots") from None


def _scalar(file: h5py.File, name: str, units: dict[str, float] | None = None) -> float | None:
    item = file.get(f"entry/instrument/{name}")
    if not isinstance(item, h5py.Dataset) or item.size != 1:
        return None
    value = float(np.asarray(item[()]).ravel()[0])
    unit = item.attrs.get("units")
    if units is None or unit is None:
        return value
    text = unit.decode() if isinstance(unit, bytes) else str(unit)
    return value * units[text.lower()] if text.lower() in units else value


def _hdf5_geometry(file: h5py.File) -> _Geometry:
    return _Geometry(
        wavelength=_scalar(file, "beam/incident_wavelength", _ANGSTROMS),
        distance=_scalar(file, "detector/detector_distance", _METRES),
        beam_x=_scalar(file, "detector/beam_center_x"),
        beam_y=_scalar(file, "detector/beam_center_y"),
        pixel_x=_scalar(file, "detector/x_pixel_size", _METRES),
        pixel_y=_scalar(file, "detector/y_pixel_size", _METRES),
    )


def _valid(data: np.ndarray) -> np.ndarray:
    """The pixels that are no mask: negative ones (a Pilatus' gaps, -1 and -2) and an integer type's largest value
    (an Eiger's)."""
    keep = data >= 0
    if np.issubdtype(data.dtype, np.integer):
        keep &= data != np.iinfo(data.dtype).max
    return data[keep]


def _frame(data: np.ndarray, g: _Geometry, text: dict[str, str]) -> Frame:
    height, width = data.shape
    if height * width > MAX_PIXELS:
        raise InvalidInput(f"Image of {height} x {width} pixels is too large")
    valid = _valid(data)
    stats = _stats(valid)
    radius = None
    if g.pixel_x is not None and g.pixel_y is not None:
        radius = math.hypot(g.pixel_x * width, g.pixel_y * height) / 2
    header = BraggyHeader(
        wavelength=g.wavelength,
        detector_distance=g.distance,
        beam_cx=g.beam_x,
        beam_cy=g.beam_y,
        beam_ocx=None if g.beam_x is None else width / 2 - g.beam_x,
        beam_ocy=None if g.beam_y is None else height / 2 - g.beam_y,
        detector_radius=radius,
        pixel_size_x=g.pixel_x,
        pixel_size_y=g.pixel_y,
        img_width=width,
        img_height=height,
        pxxpm=1 / g.pixel_x if g.pixel_x else None,
        pxypm=1 / g.pixel_y if g.pixel_y else None,
        **stats,
    )
    pixels = np.ascontiguousarray(data, dtype="<f4").tobytes()
    return Frame(pixels, height, width, FrameHeader(parsed_ext_hdr=text, braggy_hdr=header), _histogram(valid, stats))


def _stats(valid: np.ndarray) -> dict[str, float | None]:
    if valid.size == 0:
        return dict.fromkeys(("min", "max", "mean", "std", "positive_min", "strict_positive_min"))
    low, high = valid.min(), valid.max()
    above = float(np.min(valid, where=valid > 0, initial=high)) if low <= 0 else float(low)
    return {
        "min": float(low),
        "max": float(high),
        "mean": float(valid.mean(dtype=np.float64)),
        "std": float(valid.std(dtype=np.float64)),
        "positive_min": low,  # valid pixels are never negative
        "strict_positive_min": above if above > 0 else None,
    }


def _histogram(valid: np.ndarray, stats: dict[str, float | None]) -> FrameHistogram:
    """py-ispyb's histogram (values under mean + 3 std; unit bins up to 300, else 300 bins), its top value
    counted too (py-ispyb's last unit bin stopped short of it)."""
    mean, std = stats["mean"], stats["std"]
    kept = valid if mean is None or std is None else valid[valid < mean + 3 * std]
    if kept.size == 0:
        return FrameHistogram(values=[], bins=[], shape=[0], max=0)
    low, high = float(kept.min()), float(kept.max())
    if high <= 300 and np.issubdtype(kept.dtype, np.integer):  # counts: one bin per value, counted directly
        values = np.bincount((kept - int(low)).astype(np.intp))
        edges = low + np.arange(values.size + 1, dtype=np.float64)
    else:
        bins = int(high - low) + 1 if high <= 300 else 300
        values, edges = np.histogram(kept, bins=bins, range=(low, low + bins if high <= 300 else high))
    return FrameHistogram(
        values=values.tolist(), bins=edges.tolist(), shape=list(values.shape), max=float(values.max())
    )


def render(frame: Frame, kind: Rendering, size: int) -> bytes:
    """The frame as a greyscale picture at most ``size`` pixels on its longer side (blocks of pixels shown by
    their brightest, so spots survive), dark on white from 0 to the 99.5th percentile; masked pixels white."""
    data, top = frame.array(), frame.header.braggy_hdr.max
    data = np.where((data >= 0) & (data <= top), data, 0) if top is not None else np.zeros_like(data)
    step = math.ceil(max(frame.height, frame.width) / size)
    if step > 1:
        h, w = math.ceil(frame.height / step) * step, math.ceil(frame.width / step) * step
        data = np.pad(data, ((0, h - frame.height), (0, w - frame.width)))
        data = data.reshape(h // step, step, w // step, step).max(axis=(1, 3))
    scale = max(float(np.percentile(data, 99.5)), 1.0)
    grey = (255 - np.clip(data / scale, 0, 1) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(grey, "L").save(out, format="PNG" if kind == "png" else "JPEG", quality=85)
    return out.getvalue()


def media_type(kind: Rendering | Literal["raw"]) -> str:
    return {"raw": "application/octet-stream", "png": "image/png", "jpeg": "image/jpeg"}[kind]
