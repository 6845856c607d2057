"""A diffraction frame's header and histogram, as py-ispyb's ``/data/images/header`` and ``/histogram`` give them
(the image viewer of py-ispyb-ui, after Braggy, reads ``braggy_hdr``)."""

from schemas.common import ApiModel


class BraggyHeader(ApiModel):
    """A frame's geometry (from the file; null where the file does not say) and its pixels' statistics (over the
    valid pixels: masked ones, negative or the integer type's largest value, left out)."""

    wavelength: float | None
    detector_distance: float | None  #: metres
    beam_cx: float | None  #: beam centre, pixels
    beam_cy: float | None
    beam_ocx: float | None  #: beam centre's offset from the frame's centre, pixels
    beam_ocy: float | None
    detector_radius: float | None  #: metres
    pixel_size_x: float | None  #: metres
    pixel_size_y: float | None
    img_width: int
    img_height: int
    pxxpm: float | None  #: pixels per metre
    pxypm: float | None
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    positive_min: float | None  #: smallest value >= 0
    strict_positive_min: float | None  #: smallest value > 0


class FrameHeader(ApiModel):
    """``braggy_hdr``, and the file's own header as text (a CBF's ``_array_data.header_contents`` lines, another
    format's header fields; empty for HDF5)."""

    parsed_ext_hdr: dict[str, str]
    braggy_hdr: BraggyHeader


class FrameHistogram(ApiModel):
    """Counts of the valid pixels below mean + 3 standard deviations, in ``shape[0]`` bins whose edges are
    ``bins`` (one more than ``values``): unit-wide when the range is at most 300, else 300 equal bins."""

    values: list[int]
    bins: list[float]
    shape: list[int]
    max: float
