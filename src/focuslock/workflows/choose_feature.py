"""Choosing the feature without coordinates, for every command that takes ``--roi``: the
choice (``X,Y,W,H``, ``center:WxH``, ``auto``: :mod:`focuslock.focus.feature_choice`)
resolved in the frame the command starts from — a take's lock frame, a camera's first
frame, the reference picture — and refused in one sentence when the box is not inside
it, before any recording or analysis starts. And ``focuslock frame``: one frame of a
source saved as PNG, with a coordinate grid to read a box off."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focuslock.core.box import Box, BoxError
from focuslock.core.errors import FocuslockError
from focuslock.devices.base import Camera, CameraError, CorruptFrameError
from focuslock.devices.folder import IMAGE_SUFFIXES, read_rgb_image
from focuslock.focus.auto_feature import auto_feature, auto_sentence
from focuslock.focus.feature_choice import FeatureChoice, ResolvedFeature
from focuslock.io.outputs import OutputError, check_outputs, replace_file
from focuslock.overlay.coordinate_grid import draw_coordinate_grid
from focuslock.runtime.sources import camera_factory
from focuslock.workflows.take_input import AnalysisError, iter_input

__all__ = ["ChooseError", "SavedFrame", "auto_in_stack", "frame_of_source", "resolve_in_camera", "resolve_in_picture",
           "resolve_in_take", "save_frame"]


class ChooseError(FocuslockError):
    """The feature or the frame cannot be had; ``str()`` is one sentence."""


def resolve_in_picture(choice: FeatureChoice, rgb: np.ndarray, picture: str = "frame") -> ResolvedFeature:
    """``choice`` in one picture (RGB), checked inside it."""
    try:
        return choice.resolve(rgb, picture)
    except BoxError as error:
        raise ChooseError(str(error)) from None


def resolve_in_take(choice: FeatureChoice, target: str, index: int = 0) -> ResolvedFeature:
    """``choice`` in frame ``index`` of a take, a stack or a folder (``analyze``'s input);
    the frames before it are read and dropped. A frame that cannot be decoded is
    passed for the next that can."""
    try:
        frames, _ = iter_input(target)
    except AnalysisError as error:
        raise ChooseError(str(error)) from None
    try:
        for frame in frames:
            if frame.index >= index and frame.rgb is not None:
                where = "frame" if frame.index == 0 else f"frame {frame.index}"
                return resolve_in_picture(choice, frame.rgb, f"{where} of {target}")
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    raise ChooseError(f"{target} has no readable frame {index} to place the feature in.")


def auto_in_stack(target: str) -> tuple[ResolvedFeature, int]:
    """``--roi auto`` in a stack or a folder: the most detailed place near the centre of
    the frame where that place holds the most detail (a stack's frame 0 is often its
    softest), and that frame's index; the sentence says which frame it is."""
    try:
        frames, _ = iter_input(target)
    except AnalysisError as error:
        raise ChooseError(str(error)) from None
    best: tuple[float, int, Box] | None = None
    count = 0
    try:
        for frame in frames:
            if frame.rgb is None:
                continue
            count += 1
            try:
                chosen = auto_feature(frame.rgb)
            except ValueError as error:
                raise ChooseError(str(error)) from None
            if best is None or chosen.energy > best[0]:
                best = (chosen.energy, frame.index, chosen.box)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if best is None:
        raise ChooseError(f"{target} has no readable frame to place the feature in.")
    _, index, box = best
    said = (f"{auto_sentence(box.as_tuple())}, in frame {index}: of the {count} frames, the one where it holds the "
            "most detail (the lock is taken there)")
    return ResolvedFeature(box, said), index


def resolve_in_camera(choice: FeatureChoice, camera: Camera, name: str) -> ResolvedFeature:
    """``choice`` in a frame read from an open ``camera`` (``name``: the source, for the sentence)."""
    try:
        image = camera.read_frame().image
    except CameraError as error:
        raise ChooseError(error.user_message) from None
    return resolve_in_picture(choice, image, f"frames of {name}")


@dataclass(frozen=True)
class SavedFrame:
    """A frame saved by ``focuslock frame``: where, and its size in pixels."""

    path: Path
    width: int
    height: int

    def sentence(self) -> str:
        return f"{self.width}×{self.height} px; saved {self.path}"


def frame_of_source(source: str) -> tuple[np.ndarray, Path | None]:
    """One frame (RGB) of a ``--source`` (``sim``, ``video:…``, ``folder:…``,
    ``gphoto2[:…]``) or of a picture, video or folder named by its path; and the file it
    came from when it is one (an output never replaces it)."""
    path = Path(source)
    kind = source.partition(":")[0].strip().lower()
    if kind not in ("sim", "video", "folder", "gphoto2") and path.exists():
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            try:
                return read_rgb_image(path), path
            except CorruptFrameError as error:
                raise ChooseError(error.user_message) from None
        source = f"folder:{source}" if path.is_dir() else f"video:{source}"
    try:
        camera = camera_factory(source, loop=False)()
        camera.open()
        try:
            frame = camera.read_frame()
        finally:
            camera.close()
    except CameraError as error:
        raise ChooseError(error.user_message) from None
    origin = frame.source
    if origin is None and source.lower().startswith("video:"):
        origin = source.partition(":")[2]
    return frame.image, Path(origin) if origin else None


def save_frame(rgb: np.ndarray, out: Path, *, grid: bool = True, force: bool = False,
               inputs: tuple[Path, ...] = ()) -> SavedFrame:
    """Save ``rgb`` as the PNG ``out`` (with the coordinate grid unless ``grid`` is
    False), never over an existing file without ``force`` nor over an input
    (:func:`focuslock.io.outputs.check_outputs`); its folder is made when missing."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ChooseError(f"--out {out} is saved as PNG: give a name ending in .png.")
    try:
        check_outputs({"--out": out}, inputs, force=force)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
        ok, encoded = cv2.imencode(".png", draw_coordinate_grid(bgr) if grid else bgr)
        if not ok:
            raise ChooseError("The frame could not be encoded as PNG.")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ChooseError(f"The folder {out.parent} could not be made ({error.strerror or error}).") from None
        replace_file(out, encoded.tobytes())
    except OutputError as error:
        raise ChooseError(str(error)) from None
    height, width = rgb.shape[:2]
    return SavedFrame(out, width, height)
