"""Frames with a known truth: a real photograph defocused by a known disc, with noise.

What a lens does to a feature that leaves the plane of focus is a convolution by a
uniform disc; what a sensor adds is noise. These helpers make such frames from any
sharp photograph so that the focus verdict can be tested (and documented, see
``scripts/focus_truth.py``) against a truth that is known exactly, not against the
simulated bench the engine was tuned on.
"""

from __future__ import annotations

import numpy as np

from focuslock.focus.defocus import defocus

__all__ = ["degrade"]


def degrade(image_rgb: np.ndarray, blur_px: float, noise_sd: float, *, contrast: float = 1.0, gain: float = 1.0,
            shift_px: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> np.ndarray:
    """``image_rgb`` defocused by a disc of ``blur_px``, its contrast scaled about the
    mean by ``contrast``, its exposure by ``gain`` (2 = one stop over; clipped at 255 as a
    sensor clips), shifted by ``shift_px`` (x, y; whole pixels exactly, fractions by
    Fourier shift so that no interpolation blur is added), with Gaussian noise of
    ``noise_sd`` grey levels per channel; uint8 RGB."""
    image = image_rgb.astype(np.float32)
    if blur_px > 0:
        image = np.stack([defocus(image[..., c], blur_px) for c in range(3)], axis=-1)
    if shift_px != (0.0, 0.0):
        image = np.stack([_fourier_shift(image[..., c], shift_px) for c in range(3)], axis=-1)
    if contrast != 1.0:
        mean = image.mean(axis=(0, 1), keepdims=True)
        image = mean + contrast * (image - mean)
    image = image * gain
    if noise_sd > 0:
        image = image + np.random.default_rng(seed).normal(0.0, noise_sd, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _fourier_shift(channel: np.ndarray, shift_px: tuple[float, float]) -> np.ndarray:
    """``channel`` moved by (dx, dy) px without resampling blur (periodic at the edges)."""
    height, width = channel.shape
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    phase = np.exp(-2j * np.pi * (fx * shift_px[0] + fy * shift_px[1]))
    return np.real(np.fft.ifft2(np.fft.fft2(channel) * phase)).astype(np.float32)
