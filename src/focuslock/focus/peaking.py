"""Focus peaking: which pixels carry in-focus detail, in bands, painted as monitors do.

Computed on the native frame (never the display's zoom, darktable's known complaint).
Operators (``PeakingSettings.operator``):

* ``"laplacian"`` — 4-neighbour Laplacian of luma, as Magic Lantern does; with
  ``favour_texture`` the first derivative is subtracted (|∇²I| − k·|∇I|) so that fine
  texture wins over strong steps (Magic Lantern's edge filter).
* ``"sobel"`` — Sobel gradient magnitude.
* ``"detail"`` — darktable's two-scale detail: gradient at 1 px minus 0.67 × the
  gradient at 2 px, so fine detail wins over broad contrast.

Thresholds (``threshold_mode``): ``"fixed"`` (response levels 0–255), ``"adaptive"``
(keeps a chosen share of pixels lit, like Magic Lantern's 0.5–1 %) and ``"statistical"``
(mean + k·σ of the frame's response, never below a multiple of the noise floor, so that
sensor noise at high ISO stays dark). Each band (good / better / best) has its own level
and colour. The noise floor comes from the one noise model (:mod:`.noise`): the pixel
noise σ times the operator's noise gain.

Display ``"focus-map"`` paints, instead of the bands, which parts of the picture lie
within the depth of field (:mod:`.focus_map`, drawn by the overlay); where no map is at
hand it paints the bands in colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from focuslock.focus.noise import single_frame_noise_sigma
from focuslock.focus.scene_colour import contrasting_colour

__all__ = [
    "FOCUS_MAP_DISPLAY",
    "Workspace",
    "clip_roi",
    "DISPLAY_MODES",
    "OPERATORS",
    "THRESHOLD_MODES",
    "PeakingResult",
    "PeakingSettings",
    "compute_peaking",
    "luma",
    "contrasting_colour",
    "paint_peaking",
]

OPERATORS = ("laplacian", "sobel", "detail")
THRESHOLD_MODES = ("fixed", "adaptive", "statistical")
FOCUS_MAP_DISPLAY = "focus-map"
DISPLAY_MODES = ("colour", "mono", "outline", FOCUS_MAP_DISPLAY)



@dataclass(frozen=True)
class PeakingSettings:
    """How peaking is computed and painted. Values per band go from weakest to strongest.

    ``levels`` means: response levels (fixed), shares of pixels lit (adaptive, e.g.
    0.01 = 1 %), or k in mean + k·σ (statistical).
    """

    enabled: bool = True
    operator: str = "laplacian"
    favour_texture: bool = False
    texture_edge_weight: float = 0.5
    threshold_mode: str = "statistical"
    levels: tuple[float, ...] = (2.5,)
    noise_floor_sigmas: float = 4.5
    colours_rgb: tuple[tuple[int, int, int], ...] = ((255, 40, 40),)
    # One band painted in the colour that contrasts most with the scene's own colours
    # (red peaking on a copper coin or a red label is hard to see), instead of colours_rgb.
    auto_colour: bool = True
    display: str = "colour"
    thin_lines: bool = False
    roi_only: bool = False

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"Unknown peaking operator {self.operator!r}; use one of {', '.join(OPERATORS)}.")
        if self.threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f"Unknown threshold mode {self.threshold_mode!r}; use one of {', '.join(THRESHOLD_MODES)}.")
        if self.display not in DISPLAY_MODES:
            raise ValueError(f"Unknown peaking display {self.display!r}; use one of {', '.join(DISPLAY_MODES)}.")
        if not self.levels or len(self.levels) > 8:
            raise ValueError("Peaking needs between 1 and 8 bands.")
        if len(self.colours_rgb) < len(self.levels):
            raise ValueError(f"Give a colour for each of the {len(self.levels)} peaking bands.")
        if list(self.levels) != sorted(self.levels):
            raise ValueError("Peaking band levels must go from the weakest to the strongest.")

    @classmethod
    def three_bands(cls, **overrides: Any) -> PeakingSettings:
        """darktable's good / better / best at mean + 2.5σ, 5σ, 10σ in blue, green, yellow."""
        base = dict(levels=(2.5, 5.0, 10.0), colours_rgb=((60, 110, 255), (40, 220, 60), (255, 230, 20)))
        return cls(**{**base, **overrides})


@dataclass(frozen=True, eq=False)
class PeakingResult:
    """Peaking of one frame.

    ``band`` is uint8 (H, W): 0 where nothing peaks, k for band k (1 = weakest).
    ``response`` the operator's response (uint8, 0–255), ``thresholds`` the response
    level of each band, ``noise_sigma`` the response's noise σ estimated from the frame,
    ``lit_fraction`` the share of pixels in any band. ``laplacian`` keeps the signed
    Laplacian (int16) when the operator computed it, for the ROI measure to reuse.
    """

    band: np.ndarray
    response: np.ndarray | None
    thresholds: tuple[float, ...]
    noise_sigma: float
    lit_fraction: float
    laplacian: np.ndarray | None = None
    offset_px: tuple[int, int] = (0, 0)  # (x, y) of band[0, 0] in the frame
    extra: dict[str, Any] = field(default_factory=dict)
    # The colour that contrasts most with this scene (for PeakingSettings.auto_colour).
    contrast_colour_rgb: tuple[int, int, int] | None = None


def luma(image_rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma as uint8 (what cameras' peaking runs on)."""
    return cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)


class Workspace:
    """Scratch buffers reused from frame to frame by one processing thread.

    Fresh multi-megabyte arrays per frame cost page faults that can exceed the filtering
    itself; intermediates that never leave the processing call live here instead.
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, tuple[int, ...], str], np.ndarray] = {}
        self._last: dict[str, tuple[object, object, np.ndarray]] = {}  # by name: as last asked for

    def buffer(self, name: str, shape: tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
        last = self._last.get(name)
        if last is not None and last[0] == shape and last[1] is dtype:
            return last[2]  # asked for as last time: no key to normalise
        key = (name, tuple(shape), np.dtype(dtype).str)
        array = self._buffers.get(key)
        if array is None:
            self._buffers = {k: v for k, v in self._buffers.items() if k[0] != name}
            array = self._buffers[key] = np.empty(shape, dtype)
        self._last[name] = (shape, dtype, array)
        return array


def _signed_laplacian(grey: np.ndarray, workspace: Workspace | None) -> np.ndarray:
    """The 4-neighbour Laplacian of luma as int16 (into the workspace's buffer if any)."""
    dst = workspace.buffer("laplacian", grey.shape, np.int16) if workspace is not None else None
    return cv2.Laplacian(grey, cv2.CV_16S, dst=dst, ksize=1)


# The offset Laplacian below keeps |L| exactly up to this level (L + 128 saturates past it).
_OFFSET_EXACT = 126


def _band_from_offset_laplacian(grey: np.ndarray, threshold: float, workspace: Workspace) -> np.ndarray | None:
    """The one band of the plain Laplacian at ``threshold`` from L + 128 saturated to bytes
    (half the int16 Laplacian's): |L| > i ⇔ L + 128 ∉ [128 − i, 128 + i], which saturation
    leaves unchanged while i ≤ 126. None above (then the signed path answers)."""
    inside = int(math.floor(threshold - 1.0))
    if not 0 <= inside <= _OFFSET_EXACT:
        return None
    offset = cv2.Laplacian(grey, cv2.CV_8U, dst=workspace.buffer("laplacian+128", grey.shape, np.uint8), ksize=1, delta=128)
    inside_mask = cv2.inRange(offset, 128 - inside, 128 + inside, dst=workspace.buffer("not peaking", grey.shape, np.uint8))
    # (OpenCV takes a number for either operand; its stubs know only arrays.)
    band: np.ndarray = cv2.subtract(1, inside_mask)  # type: ignore[call-overload]
    return band


def operator_response(grey: np.ndarray, settings: PeakingSettings, workspace: Workspace | None = None
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """The operator's response as uint8 |value|, and the signed Laplacian when computed."""
    if settings.operator == "laplacian":
        laplacian = _signed_laplacian(grey, workspace)
        if workspace is not None:
            response = cv2.convertScaleAbs(laplacian, dst=workspace.buffer("response", grey.shape, np.uint8))
        else:
            response = cv2.convertScaleAbs(laplacian)
        if settings.favour_texture:
            # Magic Lantern's edge filter: strong single steps have a large first
            # derivative; fine texture has a large second derivative and a small first.
            gradient = _gradient_magnitude(grey, 1)
            response = cv2.subtract(response, cv2.convertScaleAbs(gradient, alpha=settings.texture_edge_weight))
        return response, laplacian
    if settings.operator == "sobel":
        return cv2.convertScaleAbs(_gradient_magnitude(grey, 1), alpha=0.25), None
    # darktable's detail: |∇| at 1 px minus 0.67·|∇| at 2 px.
    fine = _gradient_magnitude(grey, 1)
    coarse = _gradient_magnitude(grey, 2)
    return cv2.convertScaleAbs(cv2.subtract(fine, cv2.multiply(coarse, 0.67)), alpha=0.5), None


def _gradient_magnitude(grey: np.ndarray, spacing_px: int) -> np.ndarray:
    if spacing_px == 1:
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    else:
        # Central differences two pixels apart, on a lightly smoothed copy.
        smooth = cv2.GaussianBlur(grey, (0, 0), 1.0).astype(np.float32)
        kx = np.zeros((1, 2 * spacing_px + 1), np.float32)
        kx[0, 0], kx[0, -1] = -1.0, 1.0
        gx = cv2.filter2D(smooth, cv2.CV_32F, kx * 2.0)
        gy = cv2.filter2D(smooth, cv2.CV_32F, kx.T * 2.0)
    return cv2.magnitude(gx, gy)


def _sample(image: np.ndarray) -> np.ndarray:
    """Every 4th row and column: the statistics of a whole frame to well under 1 %, at a
    sixteenth of the cost."""
    return image[::4, ::4] if image.shape[0] >= 64 and image.shape[1] >= 64 else image


def _histogram(sampled_response: np.ndarray) -> np.ndarray:
    """Histogram of a sampled uint8 response (see :func:`_sample`)."""
    return cv2.calcHist([sampled_response], [0], None, [256], [0, 256]).ravel()


# How much each operator's |response| (as painted, 0–255) grows per grey level of white
# pixel noise: √Σk² of its kernel times its display scale.
_OPERATOR_NOISE_GAIN = {"laplacian": float(np.sqrt(20.0)), "sobel": 0.25 * float(np.sqrt(24.0)), "detail": 0.5 * float(np.sqrt(24.0))}


_LEVELS = np.arange(256, dtype=np.float64)
_LEVELS.flags.writeable = False


def thresholds_for(histogram: np.ndarray, settings: PeakingSettings, pixel_noise_sigma: float) -> tuple[tuple[float, ...], float]:
    """Band thresholds (response levels) and the response's noise σ, from the response
    histogram and the pixel noise σ of the noise model."""
    total = float(histogram.sum()) or 1.0
    levels = _LEVELS
    noise_sigma = pixel_noise_sigma * _OPERATOR_NOISE_GAIN[settings.operator]
    if settings.threshold_mode == "fixed":
        values = tuple(float(v) for v in settings.levels)
    elif settings.threshold_mode == "adaptive":
        # The level above which `share` of the pixels lie (Magic Lantern keeps ~1 % lit).
        cumulative = np.cumsum(histogram) / total
        values = tuple(float(np.searchsorted(cumulative, 1.0 - share)) + 1.0 for share in settings.levels[::-1])[::-1]
        values = tuple(sorted(values))
    else:
        mean = float((histogram * levels).sum() / total)
        sigma = float(np.sqrt(max((histogram * (levels - mean) ** 2).sum() / total, 0.0)))
        floor = settings.noise_floor_sigmas * noise_sigma
        values = tuple(max(mean + k * sigma, floor + i) for i, k in enumerate(settings.levels))
    return tuple(min(max(v, 1.0), 255.0) for v in values), noise_sigma


def compute_peaking(image_rgb: np.ndarray, settings: PeakingSettings, grey: np.ndarray | None = None,
                    roi_px: tuple[int, int, int, int] | None = None, workspace: Workspace | None = None,
                    reuse: PeakingResult | None = None, noise_sigma: float | None = None,
                    contrast_colour_rgb: tuple[int, int, int] | None = None) -> PeakingResult:
    """Peaking of one frame (or of ``roi_px`` only when ``settings.roi_only``).

    With a ``workspace`` the result's ``response`` and ``laplacian`` are scratch buffers
    that the next call overwrites: read them before processing another frame. With
    ``reuse``, the thresholds, noise and lit share of that earlier result are kept
    instead of being measured again (they follow the scene, not the frame); the live
    path then makes its band without the signed Laplacian (``laplacian`` is None).
    ``noise_sigma``: the pixel noise σ from the session's noise model (else estimated
    from this frame with the same estimator). ``contrast_colour_rgb``: the automatic
    peaking colour chosen on an earlier frame (else chosen on this one when needed).
    """
    if grey is None:
        grey = luma(image_rgb)
    offset = (0, 0)
    if settings.roi_only and roi_px is not None:
        x, y, w, h = clip_roi(roi_px, grey.shape)
        grey = grey[y : y + h, x : x + w]
        offset = (x, y)
    # The live path (a workspace, one band of the plain Laplacian) never makes |Laplacian|:
    # the band is one range test, the statistics read a sample of the signed Laplacian.
    signed_only = (workspace is not None and settings.operator == "laplacian" and not settings.favour_texture
                   and len(settings.levels) == 1 and not settings.thin_lines)
    response: np.ndarray | None
    laplacian: np.ndarray | None
    if signed_only and reuse is not None and workspace is not None:
        band = _band_from_offset_laplacian(grey, reuse.thresholds[0], workspace)
        if band is not None:
            return PeakingResult(band, None, reuse.thresholds, reuse.noise_sigma, reuse.lit_fraction, None, offset,
                                 contrast_colour_rgb=reuse.contrast_colour_rgb)
    if signed_only:
        response = None
        laplacian = _signed_laplacian(grey, workspace)
    else:
        response, laplacian = operator_response(grey, settings, workspace)
    if reuse is not None:
        histogram = None
        thresholds, noise_sigma = reuse.thresholds, reuse.noise_sigma
        contrast = reuse.contrast_colour_rgb
    else:
        if response is not None:
            sample = _sample(response)
        else:
            assert laplacian is not None  # signed_only: the Laplacian stands for the response
            sample = cv2.convertScaleAbs(_sample(laplacian))
        histogram = _histogram(sample)
        pixel_noise = noise_sigma if noise_sigma is not None else single_frame_noise_sigma(grey)
        thresholds, noise_sigma = thresholds_for(histogram, settings, pixel_noise)
        contrast = contrast_colour_rgb
        if contrast is None and settings.auto_colour and len(settings.levels) == 1:
            contrast = contrasting_colour(image_rgb)
    if response is None:
        # |L| ≥ ⌊t − 1⌋ + 1 (what thresholding the saturated |L| at t − 1 lets through):
        # inRange marks the rest 255, and 1 − 255 saturates to 0.
        assert laplacian is not None  # signed_only: the Laplacian stands for the response
        inside = int(math.floor(thresholds[0] - 1.0))
        # (OpenCV takes a number for either operand; its stubs know only arrays.)
        band = cv2.subtract(1, cv2.inRange(laplacian, -inside, inside))  # type: ignore[call-overload]
    elif len(thresholds) == 1:
        band = cv2.threshold(response, thresholds[0] - 1, 1, cv2.THRESH_BINARY)[1]
    else:
        # One table lookup gives every pixel its band: the number of thresholds it reaches.
        table = np.searchsorted(np.asarray(thresholds), np.arange(256), side="right").astype(np.uint8)
        band = cv2.LUT(response, table)
    if settings.thin_lines:
        assert response is not None  # thin lines are never signed_only
        band = cv2.bitwise_and(band, _ridges(response))
        lit_fraction = float(cv2.countNonZero(band)) / max(band.size, 1)
    elif histogram is None:
        lit_fraction = reuse.lit_fraction if reuse is not None else 0.0
    else:
        # From the (sampled) histogram: the share of responses at or above band 1.
        lit_fraction = float(histogram[int(np.ceil(thresholds[0])) :].sum() / max(histogram.sum(), 1.0))
    return PeakingResult(band, response, thresholds, noise_sigma, lit_fraction, laplacian, offset,
                         contrast_colour_rgb=contrast)


def _ridges(response: np.ndarray) -> np.ndarray:
    """Pixels that are the strongest in their 3×3 neighbourhood: one-pixel-thin lines."""
    return cv2.compare(response, cv2.dilate(response, np.ones((3, 3), np.uint8)), cv2.CMP_GE)


def clip_roi(roi_px: Iterable[float], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``roi_px`` (x, y, w, h), rounded and clipped to a frame of ``shape`` (at least 1×1)."""
    x, y, w, h = roi_px
    x, y, w, h = int(round(x)), int(round(y)), int(round(w)), int(round(h))
    height, width = shape[:2]
    x0, y0 = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
    x1, y1 = min(max(x + w, x0 + 1), width), min(max(y + h, y0 + 1), height)
    return x0, y0, x1 - x0, y1 - y0


_COLOUR_PLANES: dict[tuple[tuple[int, ...], tuple[int, int, int]], np.ndarray] = {}


def _rgb(colour: Sequence[int]) -> tuple[int, int, int]:
    """A colour given as any sequence of three levels, as the tuple that keys the planes."""
    red, green, blue = colour
    return red, green, blue


def _colour_plane(shape: tuple[int, ...], colour: tuple[int, int, int]) -> np.ndarray:
    """A constant image of one colour, kept per size (painting copies from it)."""
    key = (shape, colour)
    plane = _COLOUR_PLANES.get(key)
    if plane is None:
        if len(_COLOUR_PLANES) > 32:
            _COLOUR_PLANES.clear()
        plane = np.empty(shape, np.uint8)
        plane[:] = colour
        _COLOUR_PLANES[key] = plane
    return plane


def paint_peaking(image_rgb: np.ndarray, peaking: PeakingResult, settings: PeakingSettings,
                  grey: np.ndarray | None = None) -> np.ndarray:
    """A new RGB image with peaking painted as ``settings.display`` says.

    ``colour``: bands over the picture; ``mono``: bands over a grey picture (colours
    stand out on any subject); ``outline``: bands alone on black.
    """
    if settings.display in ("colour", FOCUS_MAP_DISPLAY):
        out = image_rgb.copy()
    elif settings.display == "mono":
        out = cv2.cvtColor(grey if grey is not None else luma(image_rgb), cv2.COLOR_GRAY2RGB)
    else:
        out = np.zeros_like(image_rgb)
    x, y = peaking.offset_px
    h, w = peaking.band.shape
    target = out[y : y + h, x : x + w]
    if len(peaking.thresholds) == 1:
        colour = peaking.contrast_colour_rgb if settings.auto_colour and peaking.contrast_colour_rgb else settings.colours_rgb[0]
        cv2.copyTo(_colour_plane(target.shape, _rgb(colour)), peaking.band, target)
        return out
    for index in range(1, len(peaking.thresholds) + 1):
        mask = cv2.compare(peaking.band, index, cv2.CMP_EQ)  # type: ignore[call-overload]  # a number: see above
        cv2.copyTo(_colour_plane(target.shape, _rgb(settings.colours_rgb[index - 1])), mask, target)
    return out
