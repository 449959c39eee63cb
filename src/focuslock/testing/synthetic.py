"""Frames with a known truth: a real photograph defocused by a known disc, with noise.

What a lens does to a feature that leaves the plane of focus is a convolution by a
uniform disc; what a sensor adds is noise. These helpers make such frames from any
sharp photograph so that the focus verdict can be tested (and documented, see
``scripts/focus_truth.py``) against a truth that is known exactly, not against the
simulated bench the engine was tuned on.

The disc is applied as a camera applies it, independently of the estimator's own disc
(:func:`focuslock.focus.defocus.disc_kernel`): the photograph is taken as the picture
at ``OVERSAMPLE`` times the frame's resolution (Lanczos), blurred there by a disc drawn
by its area on each fine pixel, and averaged back over each frame pixel, as a sensor's
pixels do. Every frame, sharp or not, goes through the same resampling.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["OVERSAMPLE", "TiltedPlane", "TiltedRack", "degrade", "fine_texture", "lens_defocus"]

OVERSAMPLE = 4
_COVERAGE_SAMPLES = 8  # per fine pixel and axis, to draw the disc by its area


# Lens blurs that are not a uniform disc (``degrade(profile=...)``): the disc's brightness
# across its radius r (0 at the centre, 1 at the rim).
BLUR_PROFILES = ("disc", "rim", "soft")


def degrade(image_rgb: np.ndarray, blur_px: float, noise_sd: float, *, contrast: float = 1.0, gain: float = 1.0,
            shift_px: tuple[float, float] = (0.0, 0.0), seed: int = 0, profile: str = "disc",
            chromatic_px: float = 0.0) -> np.ndarray:
    """``image_rgb`` defocused by a disc of ``blur_px``, its contrast scaled about the
    mean by ``contrast``, its exposure by ``gain`` (2 = one stop over; clipped at 255 as a
    sensor clips), shifted by ``shift_px`` (x, y; whole pixels exactly, fractions by
    Fourier shift so that no interpolation blur is added), with Gaussian noise of
    ``noise_sd`` grey levels per channel; uint8 RGB.

    Real lenses: ``profile`` "rim" is a disc brighter towards its edge (over-corrected
    spherical aberration: "soap-bubble" out-of-focus highlights, 1 + 2r² across it), "soft"
    one that fades to its edge (under-corrected: 1 − r²); ``chromatic_px``: longitudinal
    chromatic aberration — red focuses behind green and blue before it, so at a green
    blur of ``blur_px`` red is blurred by |blur_px + chromatic_px| and blue by
    |blur_px − chromatic_px| (a sharp green plane has colour fringes of that size)."""
    image = image_rgb.astype(np.float32)
    if chromatic_px:
        blurs = (abs(blur_px + chromatic_px), blur_px, abs(blur_px - chromatic_px))
        image = np.stack([lens_defocus(image[..., c], b, profile) for c, b in enumerate(blurs)], axis=-1)
    else:
        image = lens_defocus(image, blur_px, profile)
    if shift_px != (0.0, 0.0):
        image = np.stack([_fourier_shift(image[..., c], shift_px) for c in range(3)], axis=-1)
    if contrast != 1.0:
        mean = image.mean(axis=(0, 1), keepdims=True)
        image = mean + contrast * (image - mean)
    image = image * gain
    if noise_sd > 0:
        image = image + np.random.default_rng(seed).normal(0.0, noise_sd, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def fine_texture(photo_rgb: np.ndarray, shape: tuple[int, int] = (300, 400), seed: int = 0) -> np.ndarray:
    """A grass-like fine texture made from a photograph of thin lines (a barcode): tiles of
    it turned by up to ±35° and reduced 3× — blades one to three pixels wide at every
    angle, detail in every pixel and no flat part for a noise estimate to rest on. uint8
    RGB of ``shape`` (height, width)."""
    source = photo_rgb.astype(np.float32)
    rng = np.random.default_rng(seed)
    height, width = shape
    out = np.zeros((height, width, 3), np.float32)
    tile = 100
    src_h, src_w = source.shape[:2]
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            angle = rng.uniform(-35.0, 35.0)
            cx, cy = rng.uniform(0.35 * src_w, 0.65 * src_w), rng.uniform(0.4 * src_h, 0.6 * src_h)
            matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0 / 3.0)
            matrix[0, 2] += tile / 2 - cx
            matrix[1, 2] += tile / 2 - cy
            piece = cv2.warpAffine(source, matrix, (tile, tile), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
            out[y : y + tile, x : x + tile] = piece[: min(tile, height - y), : min(tile, width - x)]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class TiltedPlane:
    """A photograph on a plane tilted away from the lens: its blur varies along x.

    A subject deeper than the depth of field seen as a camera sees it: the point at
    column x is defocused by a disc of ``blur_of_column_px[x]``. The photograph is
    defocused once per ``level_step_px`` up to ``max_blur_px`` (as :func:`lens_defocus`
    does), and each column is interpolated between the two levels around its blur.
    """

    def __init__(self, image_rgb: np.ndarray, max_blur_px: float, level_step_px: float = 0.25) -> None:
        if not (max_blur_px >= 0 and math.isfinite(max_blur_px)) or not level_step_px > 0:
            raise ValueError("A tilted plane needs a finite maximum blur ≥ 0 px and a positive level step.")
        self.level_step_px = float(level_step_px)
        image = image_rgb.astype(np.float32)
        count = int(math.ceil(max_blur_px / level_step_px)) + 2
        self.levels = np.stack([lens_defocus(image, i * level_step_px) for i in range(count)])

    def frame(self, blur_of_column_px: np.ndarray, noise_sd: float, seed: int = 0) -> np.ndarray:
        """One uint8 RGB frame with Gaussian noise of ``noise_sd`` grey levels per channel."""
        levels = self.levels
        width = levels.shape[2]
        blur = np.clip(np.asarray(blur_of_column_px, np.float64), 0.0, (len(levels) - 2) * self.level_step_px)
        if blur.shape != (width,):
            raise ValueError(f"Give one blur per column ({width}), got shape {blur.shape}.")
        position = blur / self.level_step_px
        lower = np.floor(position).astype(int)
        share = (position - lower).astype(np.float32)[None, :, None]
        columns = np.arange(width)
        below = levels[lower, :, columns].transpose(1, 0, 2)  # (height, width, channels)
        above = levels[lower + 1, :, columns].transpose(1, 0, 2)
        image = below * (1.0 - share) + above * share
        if noise_sd > 0:
            image = image + np.random.default_rng(seed).normal(0.0, noise_sd, image.shape).astype(np.float32)
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)

    def rack(self, box_px: tuple[int, int, int, int], coc_px: float, box_depth_dof: float, noise_sd: float,
             still_frames: int, steps: int = 33, beyond_px: float = 60.0) -> TiltedRack:
        """A box ``box_depth_dof`` times as deep as the depth of field, locked with the
        plane of focus through its middle (``still_frames`` + 1 frames: its edges blurred
        by half that many CoC), then racked in ``steps`` until the plane sits
        ``beyond_px`` left of the box: the left half sharpens, the right half leaves."""
        x0, _, width, _ = box_px
        slope = box_depth_dof * coc_px / width
        middle = x0 + width / 2.0
        planes = [middle] * (still_frames + 1) + [float(p) for p in np.linspace(middle, x0 - beyond_px, steps)]
        columns = np.arange(float(self.levels.shape[2]))
        frames = [self.frame(slope * np.abs(columns - plane), noise_sd, seed=i) for i, plane in enumerate(planes)]
        return TiltedRack(planes, frames, slope, box_px, coc_px)


@dataclass(frozen=True)
class TiltedRack:
    """Frames of a focus rack across a box on a tilted plane (:meth:`TiltedPlane.rack`):
    ``planes_px`` the column of the plane of focus in each frame, ``slope`` the blur (px)
    per column away from it."""

    planes_px: list[float]
    frames: list[np.ndarray]
    slope: float
    box_px: tuple[int, int, int, int]
    coc_px: float

    def gained_coc(self, plane_px: float) -> float:
        """The truth: the most blur any part of the box has gained since the first frame,
        in CoC, at the middles of the box's halves along x (the parts the lock reads,
        :mod:`focuslock.focus.parts`). A disc's second moment grows with the square of its
        diameter, and blurs add so."""
        x0, _, width, _ = self.box_px
        locked = self.planes_px[0]
        middles = (x0 + width / 4.0, x0 + 3.0 * width / 4.0)
        gained = [(self.slope * abs(m - plane_px)) ** 2 - (self.slope * abs(m - locked)) ** 2 for m in middles]
        return math.sqrt(max(max(gained), 0.0)) / self.coc_px


def _fourier_shift(channel: np.ndarray, shift_px: tuple[float, float]) -> np.ndarray:
    """``channel`` moved by (dx, dy) px without resampling blur (periodic at the edges)."""
    height, width = channel.shape
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    phase = np.exp(-2j * np.pi * (fx * shift_px[0] + fy * shift_px[1]))
    return np.real(np.fft.ifft2(np.fft.fft2(channel) * phase)).astype(np.float32)


# Defocused pictures kept for the next ask: a truth table or a test defocuses one
# photograph by the same discs at every noise level and contrast (noise and contrast
# are applied after the lens). Bounded by bytes, oldest dropped first.
_DEFOCUS_CACHE_BYTES = 96 << 20
_defocus_cache: collections.OrderedDict[tuple, np.ndarray] = collections.OrderedDict()
_defocus_cache_lock = threading.Lock()


def lens_defocus(image: np.ndarray, blur_px: float, profile: str = "disc") -> np.ndarray:
    """``image`` (float32, H×W or H×W×C) blurred by a disc of ``blur_px`` frame pixels,
    through a picture at ``OVERSAMPLE`` times the resolution (see the module docstring).
    Read-only: the same picture is handed to every caller that asks for it."""
    if not (blur_px >= 0 and math.isfinite(blur_px)):
        raise ValueError(f"A blur disc needs a finite diameter ≥ 0 px, got {blur_px}.")
    if profile not in BLUR_PROFILES:
        raise ValueError(f"Unknown blur profile {profile!r}; use one of {', '.join(BLUR_PROFILES)}.")
    image = np.ascontiguousarray(image, dtype=np.float32)
    key = (hashlib.blake2b(image.data, digest_size=16).digest(), image.shape, float(blur_px), profile)
    with _defocus_cache_lock:
        cached = _defocus_cache.get(key)
        if cached is not None:
            _defocus_cache.move_to_end(key)
            return cached
    result = _lens_defocus(image, blur_px, profile)
    result.flags.writeable = False
    with _defocus_cache_lock:
        _defocus_cache[key] = result
        while sum(a.nbytes for a in _defocus_cache.values()) > _DEFOCUS_CACHE_BYTES and len(_defocus_cache) > 1:
            _defocus_cache.popitem(last=False)
    return result


def _lens_defocus(image: np.ndarray, blur_px: float, profile: str = "disc") -> np.ndarray:
    height, width = image.shape[:2]
    fine = cv2.resize(image, (width * OVERSAMPLE, height * OVERSAMPLE), interpolation=cv2.INTER_LANCZOS4)
    if blur_px > 0:
        fine = cv2.filter2D(fine, cv2.CV_32F, _area_disc(round(blur_px * OVERSAMPLE, 4), profile),
                            borderType=cv2.BORDER_REFLECT)
    return cv2.resize(fine, (width, height), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=64)
def _area_disc(diameter_px: float, profile: str = "disc") -> np.ndarray:
    """A disc of ``diameter_px``: each pixel weighted by the share of it the disc covers
    (and, for a ``profile`` other than "disc", by its brightness across the radius)."""
    radius = diameter_px / 2.0
    half = int(math.ceil(radius))
    n = 2 * half + 1
    steps = _COVERAGE_SAMPLES
    offsets = (np.arange(n * steps) + 0.5) / steps - half - 0.5
    r2 = offsets[None, :] ** 2 + offsets[:, None] ** 2
    inside = (r2 <= radius * radius).astype(np.float64)
    if profile != "disc" and radius > 0:
        share = r2 / (radius * radius)
        inside *= (1.0 + 2.0 * share) if profile == "rim" else (1.0 - share)
    kernel = inside.reshape(n, steps, n, steps).sum(axis=(1, 3))
    if kernel.sum() == 0:  # a disc smaller than one sample: a point
        kernel[half, half] = 1.0
    return (kernel / kernel.sum()).astype(np.float32)
