"""Named focus marks: return to where a feature was sharp.

A mark (A, B, … with a name) keeps the feature's box, its look (a template for the
tracker) and its locked reference (the through-focus curve, :mod:`focuslock.focus.parts`),
and the drive's position when it was set. No body reports an absolute focus position, and
a drive loses steps to backlash, so "go to mark" drives to the stored position and then
finds best focus again from the picture: it sweeps upwards through the stored position
(always from below, so the backlash is taken out the same way every time), reads the
feature's blur against the mark's own reference at each step, fits the V of blur against
drive steps (:func:`focuslock.workflows.calibrate.fit_sweep`) and settles at its centre, approached
from below.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

import numpy as np

from focuslock.core.resources import is_finite_number
from focuslock.devices.base import Camera
from focuslock.focus.defocus import view_margin_px
from focuslock.focus.feature import extract_view
from focuslock.focus.judge import MAX_COC_PX
from focuslock.focus.parts import FeatureReference
from focuslock.runtime.pipeline import FrameResult, PipelineSettings
from focuslock.workflows.calibration_fit import fit_sweep
from focuslock.workflows.drive_sweep import ARM_BLUR_COC, MIN_BACKLASH_GUARD_STEPS, CalibrationError, DriveSweep

__all__ = ["DriveCounter", "GoToResult", "Mark", "MarkError", "MarkStore", "check_mark_name", "default_marks_folder", "go_to_mark",
           "take_mark"]


class MarkError(CalibrationError):
    """One sentence for the user."""


@dataclass
class Mark:
    """A named focus mark: the feature's box, the drive's position and the lock's reference there."""

    name: str
    roi_px: tuple[int, int, int, int]
    position_steps: int  # the drive's position (steps, the caller's count) when set
    template: np.ndarray = field(repr=False)  # the feature's grey look, for the tracker
    reference: FeatureReference = field(repr=False)
    coc_px: float = 0.0
    # What the reference was built from, kept so that a saved mark can be read back:
    # the lock's views (whole-pixel, with the reference's margin) and the noise then.
    views: list[np.ndarray] = field(repr=False, default_factory=list)
    noise_sigma: float = 1.0
    camera: str = ""
    live_view_zoom: float = 1.0  # the box is in the pixels of live view at this zoom


@dataclass(frozen=True)
class GoToResult:
    """Where going back to a mark left the drive, and where best focus was found."""

    position_steps: int  # where the drive is now (the caller's count)
    best_position_steps: float  # best focus found, approached from below
    blur_px_per_step: float
    moved_from_mark_steps: float  # how far best focus lay from the stored position


def take_mark(camera: Camera, name: str, roi_px, position_steps: int, settings: PipelineSettings | None = None) -> Mark:
    """Lock on the feature in ``roi_px`` where focus is now (it should be sharp) and keep
    what going back needs."""
    sweep = DriveSweep(camera, roi_px, settings, 1, 0, None)
    sweep.lock()
    assert sweep.result is not None  # set by lock(), which raises without a lock
    focus = sweep.result.focus
    lock = focus.lock
    grey = sweep.pipeline.engine.last_grey
    assert lock is not None and lock.reference is not None and focus.roi_px is not None and grey is not None
    x, y, w, h = (int(round(v)) for v in focus.roi_px)
    roi = (x, y, w, h)
    template = grey[y : y + h, x : x + w].copy()
    views = [v.copy() for v in sweep.lock_views]
    noise = float(sweep.pipeline.engine.noise.sigma or 1.0)
    return Mark(check_mark_name(name), roi, int(position_steps), template, lock.reference, lock.coc_px, views, noise,
                getattr(camera, "name", ""), sweep.live_view_zoom)


class _MarkSweep(DriveSweep):
    """Reads the feature's blur against the mark's reference (tracking it, not locking)."""

    def __init__(self, camera: Camera, mark: Mark, settings: PipelineSettings | None, frames_per_point: int) -> None:
        super().__init__(camera, mark.roi_px, settings, frames_per_point, 1, None)
        self.mark = mark
        first = self.frame()
        if self.live_view_zoom != mark.live_view_zoom:
            raise MarkError(f"Mark {mark.name} was set with live view at {mark.live_view_zoom:g}× and it is at "
                            f"{self.live_view_zoom:g}× now; zoom live view to {mark.live_view_zoom:g}× and go again.")
        grey = self.pipeline.engine.last_grey
        assert grey is not None  # a frame was read
        height, width = grey.shape
        x, y, w, h = mark.roi_px
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise MarkError(f"Mark {mark.name}'s feature box ({w}×{h} at {x},{y}) lies outside this {width}×{height} "
                            "live view; set the mark again.")
        self.pipeline.engine.restart_tracking_at(mark.template, mark.roi_px[:2], self.settings.focus.tracking)
        self.result = first

    def read_one(self, result: FrameResult) -> tuple[float, bool]:
        focus = result.focus
        if focus.roi_px is None or (focus.track is not None and focus.track.lost):
            raise MarkError(f"Mark {self.mark.name}'s feature is out of sight; frame it again and retry.")
        engine = self.pipeline.engine
        assert engine.last_grey is not None  # this frame's
        view = extract_view(engine.last_grey, tuple(int(round(v)) for v in focus.roi_px), self.mark.reference.margin_px)
        if view is None or view.shape != self._view_shape():
            raise MarkError(f"Mark {self.mark.name}'s feature left the frame.")
        estimate = self.mark.reference.whole_estimate(view, engine.noise.sigma or 1.0, noise_sd=engine.noise.sigma_sd)
        return estimate.blur_px, estimate.beyond_range

    def _view_shape(self) -> tuple[int, int]:
        m = self.mark.reference.margin_px
        x, y, w, h = self.mark.roi_px
        return h + 2 * m, w + 2 * m


def go_to_mark(camera: Camera, mark: Mark, position_steps: int, *, blur_px_per_step: float | None = None,
               settings: PipelineSettings | None = None, points_per_arm: int = 10, frames_per_point: int = 2,
               progress: Callable[[str], None] | None = None) -> GoToResult:
    """Drive from ``position_steps`` (the caller's count) back to ``mark`` and find its
    best focus again. ``blur_px_per_step``: from a calibration (else measured here)."""
    sweep = _MarkSweep(camera, mark, settings, frames_per_point)
    sweep.position = int(position_steps)
    coc = mark.coc_px or mark.reference.coc_px
    guard = MIN_BACKLASH_GUARD_STEPS
    if progress:
        progress(f"driving to mark {mark.name}'s step {mark.position_steps:+d} …")
    sweep.settle_at(mark.position_steps, guard)
    if blur_px_per_step is None:
        if progress:
            progress("finding how far the drive must go to blur the feature …")
        # The arm from the mark: doubling probes up until the blur passes the arm's end.
        reach = sweep.probe_arm(ARM_BLUR_COC * coc, 4000)
        blur_px_per_step = ARM_BLUR_COC * coc / max(reach, 1)
    half_width = max(int(math.ceil(ARM_BLUR_COC * coc / blur_px_per_step)), points_per_arm)
    stride = max(1, half_width // points_per_arm)
    guard = max(guard, stride * points_per_arm)
    if progress:
        progress(f"searching ±{stride * points_per_arm} steps around mark {mark.name} in steps of {stride} …")
    centre = mark.position_steps
    for _ in range(2):
        points = sweep.sweep(centre - stride * points_per_arm, centre + stride * points_per_arm, stride, guard, +1)
        g, best = fit_sweep(points, coc)
        if abs(best - centre) <= 0.6 * stride * points_per_arm:
            break
        centre = int(round(best))  # best focus lay near the edge of the search: search around it
    # A fine pass around best focus when the first was coarse: within one step.
    if stride > 1:
        if progress:
            progress("a finer pass around best focus …")
        fine = max(1, stride // 4)
        span = 3 * stride
        points = sweep.sweep(int(round(best)) - span, int(round(best)) + span, fine, guard, +1)
        # The fine pass sits at the bottom of the V: the parabola of sign·reading² fits it.
        _, best = fit_sweep(points, float("inf"))
    if progress:
        progress("driving to best focus …")
    sweep.settle_at(best, guard)
    return GoToResult(sweep.position, best, g, best - mark.position_steps)


# ------------------------------------------------------------------------ kept on disk

_NAME_CHARACTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.")
_STORE_VERSION = 1


def check_mark_name(name: str) -> str:
    """A mark's name as given (A, B, "label edge"): letters, digits, spaces, - _ and .,
    up to 40 characters."""
    name = str(name).strip()
    if not name or len(name) > 40 or not set(name) <= _NAME_CHARACTERS or name.startswith("."):
        raise MarkError(f"A mark's name is 1–40 letters, digits, spaces, '-', '_' or '.', got {name!r}.")
    return name


class DriveCounter:
    """A camera whose focus-drive moves are counted: no body says where its focus is, so
    the count — kept across commands by :class:`MarkStore` — is where the marks are
    measured from. Turning the focus ring by hand breaks it; going to a mark finds best
    focus again from the picture within its search."""

    def __init__(self, camera: Camera, position_steps: int = 0) -> None:
        self._camera = camera
        self.position_steps = int(position_steps)

    def drive_focus(self, steps: int) -> int:
        moved = self._camera.drive_focus(steps)
        self.position_steps += int(moved)
        return moved

    def __getattr__(self, name: str):
        return getattr(self._camera, name)


class MarkStore:
    """Marks kept in a folder: ``marks.json`` (names, boxes, drive positions, and the drive's
    count for each camera) and one ``mark-NAME.npz`` per mark (its look and the views its
    reference is built from). Every file is written whole (temporary file, then rename)."""

    def __init__(self, folder) -> None:
        from pathlib import Path

        self.folder = Path(folder)
        self._index_path = self.folder / "marks.json"

    # -------------------------------------------------------------- the index
    def _index(self) -> dict:
        import json

        from focuslock.core.resources import DataFileError, read_user_file

        # The folder first: a file, a pipe or a link to nowhere in its place is refused, never written past.
        if os.path.lexists(self.folder) and not self.folder.is_dir():
            raise MarkError(f"{self.folder} is not a folder; give --marks the folder the marks are kept in.")
        if self.folder.is_dir() and not os.access(self.folder, os.R_OK | os.X_OK):
            raise MarkError(f"The marks folder {self.folder} cannot be read (permission denied).")
        if not os.path.lexists(self._index_path):
            return {"version": _STORE_VERSION, "drive_position_steps": {}, "marks": {}}
        try:
            index = json.loads(read_user_file(self._index_path, "marks file").decode("utf-8"))
            if not isinstance(index.get("marks"), dict) or not isinstance(index.get("drive_position_steps"), dict) \
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in index["drive_position_steps"].values()):
                raise ValueError("not a marks index")
        except DataFileError as error:
            raise MarkError(f"{error} Move it away to start afresh.") from None
        except (UnicodeDecodeError, ValueError, AttributeError, RecursionError):
            raise MarkError(f"{self._index_path} is not a readable marks file; move it away to start afresh.") from None
        return index

    def _write(self, path, data: bytes) -> None:
        from focuslock.io.outputs import OutputError, replace_file

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            replace_file(path, data)
        except (OSError, OutputError) as error:
            raise MarkError(f"The marks could not be saved in {self.folder}: {error}") from None

    def _write_index(self, index: dict) -> None:
        import json

        self._write(self._index_path, json.dumps(index, indent=2, ensure_ascii=False).encode("utf-8"))

    def _array_path(self, name: str):
        return self.folder / f"mark-{name.replace(' ', '_')}.npz"

    # -------------------------------------------------------------- the drive's count
    def drive_position(self, camera_name: str) -> int:
        """The drive's count for ``camera_name`` as the last command left it (0 at first).
        A command that asks will move the drive and keep its count here: a folder where it
        could not be kept is refused now, before the drive moves."""
        position = int(self._index()["drive_position_steps"].get(camera_name, 0))
        existing = self.folder
        while not os.path.lexists(existing) and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise MarkError(f"The marks folder {self.folder} cannot be written ({existing} is not a writable folder); "
                            "the drive's count could not be kept.")
        return position

    def set_drive_position(self, camera_name: str, position_steps: int) -> None:
        index = self._index()
        index["drive_position_steps"][camera_name] = int(position_steps)
        self._write_index(index)

    # -------------------------------------------------------------- marks
    def names(self) -> list[str]:
        return sorted(self._index()["marks"])

    def entries(self) -> dict[str, dict]:
        """Every mark's index entry, each checked as :meth:`load` checks it (a damaged one
        is one sentence, not a traceback in ``mark list``); ``set_at`` always text."""
        entries = {}
        for name, entry in self._index()["marks"].items():
            try:
                _entry_values(entry)
            except (KeyError, ValueError, TypeError, AttributeError, IndexError):
                raise MarkError(f"Mark {name}'s entry in {self._index_path} is damaged; set the mark again, "
                                "or delete it.") from None
            set_at = entry.get("set_at")
            entries[name] = {**entry, "set_at": set_at if isinstance(set_at, str) else "at an unknown time"}
        return entries

    def save(self, mark: Mark) -> None:
        """Keep ``mark`` (replacing one of the same name)."""
        import io
        from datetime import datetime

        buffer = io.BytesIO()
        np.savez_compressed(buffer, template=mark.template, views=np.stack(mark.views))
        self._write(self._array_path(mark.name), buffer.getvalue())
        index = self._index()
        index["marks"][mark.name] = {"roi_px": list(mark.roi_px), "position_steps": int(mark.position_steps),
                                     "coc_px": float(mark.coc_px), "margin_px": int(mark.reference.margin_px),
                                     "noise_sigma": float(mark.noise_sigma), "camera": mark.camera,
                                     "live_view_zoom": float(mark.live_view_zoom),
                                     "set_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self._write_index(index)

    def load(self, name: str) -> Mark:
        entry = self._index()["marks"].get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none yet"
            raise MarkError(f"There is no mark {name!r} in {self.folder} (marks: {known}).")
        try:
            with np.load(self._array_path(name), allow_pickle=False) as arrays:
                template, views = arrays["template"], list(arrays["views"])
            roi, position, coc, margin, noise, camera, zoom = _entry_values(entry)
        except (OSError, KeyError, ValueError, TypeError, EOFError):
            raise MarkError(f"Mark {name}'s files in {self.folder} are damaged; set the mark again.") from None
        if not views or template.shape != (roi[3], roi[2]) or views[0].shape != (roi[3] + 2 * margin, roi[2] + 2 * margin):
            raise MarkError(f"Mark {name}'s files in {self.folder} do not fit together; set the mark again.")
        reference = FeatureReference.from_views(views, noise, coc, margin)
        return Mark(name, roi, position, template, reference, coc, views, noise, camera, zoom)

    def delete(self, name: str) -> None:
        index = self._index()
        if name not in index["marks"]:
            raise MarkError(f"There is no mark {name!r} in {self.folder}.")
        del index["marks"][name]
        self._write_index(index)
        self._array_path(name).unlink(missing_ok=True)


def _entry_values(entry: dict) -> tuple:
    """A mark's index entry as :meth:`MarkStore.save` wrote it (box, position, CoC, margin,
    noise, camera, zoom); ValueError for anything else — the index is a JSON file a user
    may edit, and a CoC of −1 or a missing position must not reach the reference."""
    def whole(value, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{value!r} is not a whole number from {least}")
        return value

    def positive(value) -> float:
        if not is_finite_number(value) or value <= 0:
            raise ValueError(f"{value!r} is not a positive number")
        return float(value)

    box = entry["roi_px"]
    if not isinstance(box, list) or len(box) != 4:
        raise ValueError(f"{box!r} is not a box")
    roi = (whole(box[0], 0), whole(box[1], 0), whole(box[2], 3), whole(box[3], 3))
    position = entry["position_steps"]
    if isinstance(position, bool) or not isinstance(position, int):
        raise ValueError(f"{position!r} is not a drive position")
    camera = entry.get("camera", "")
    if not isinstance(camera, str):
        raise ValueError(f"{camera!r} is not a camera's name")
    coc, margin = positive(entry["coc_px"]), whole(entry["margin_px"], 0)
    if coc > MAX_COC_PX:  # (4.5e307 px overflowed the context's arithmetic)
        raise ValueError(f"a CoC of {coc:g} px is more than any lock uses ({MAX_COC_PX:g} px)")
    if view_margin_px(coc) != margin:  # the views were cut for the CoC they were saved with
        raise ValueError(f"a CoC of {coc:g} px does not fit views cut with {margin} px of context")
    return roi, position, coc, margin, positive(entry["noise_sigma"]), camera, positive(entry.get("live_view_zoom", 1.0))


def default_marks_folder():
    """Where marks are kept unless told: the user's config folder."""
    from focuslock.core.resources import user_config_folder

    return user_config_folder() / "marks"
