"""Focus-drive calibration from live view: how far one drive step moves the plane of
focus, and how many steps a change of direction loses (backlash).

No body reports where its focus is, so the drive is measured through the picture: the
locked feature is swept through focus in even drive steps, up and then down, and each
position's blur is read by the lock's own estimator (:mod:`focuslock.focus.defocus`).
A lens out of focus blurs a point by a disc whose diameter grows in proportion to the
focus shift, so the blur is ``g·|x − x₀|`` in drive steps ``x``; against a reference
that was itself blurred by ``b_ref`` the estimator reads ``±sqrt(|b² − b_ref²|)``
(discs add by their second moments), which makes ``sign·reading²`` a parabola in ``x``:
``g²(x − x₀)² − b_ref²``. Its fit gives ``g`` (blur px per step) and ``x₀`` (best
focus). The optics turn ``g`` into µm of focus shift at the subject
(:func:`focuslock.optics.dof.depth_for_live_view_blur_mm`); the best focus found
sweeping up and sweeping down differ by the backlash.

The camera is driven directly, one frame at a time, through the same
:class:`~focuslock.runtime.pipeline.FramePipeline` as live view.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from focuslock.devices.base import Camera, CorruptFrameError
from focuslock.focus.feature import extract_view
from focuslock.focus.parts import FeatureReference, grid_regions
from focuslock.focus.through_focus import ARM_FROM_COC, ThroughFocusError, fit_through_focus
from focuslock.optics.dof import depth_for_live_view_blur_mm
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings

__all__ = ["CalibrationError", "DriveSweep", "fit_sweep", "FocusStepCalibration", "SweepPoint", "calibrate_focus_steps", "save_record",
           "user_calibration_path"]

# The lock calibrates its reference on this many still frames first.
_LOCK_FRAMES = 8
# The sweep reaches this blur (in CoC) on each side of best focus: far enough for the
# V's arms, within the estimator's curve (4 CoC).
ARM_BLUR_COC = 3.0
# Each sweep starts this many steps (at least) beyond its range, so that the backlash of
# a change of direction is taken out before the first reading.
MIN_BACKLASH_GUARD_STEPS = 32
# The box is also read as a grid of up to this many parts a side (each at least
# _MIN_GRID_PART_PX): a part of a deep box spans little depth (see :func:`_fit_by_parts`).
_GRID_PER_AXIS = 4
# A part of the calibration's grid is at least this long a side: smaller than the lock's
# parts (a sweep averages dozens of readings; a 43 px box on the tilted coin must split).
_MIN_GRID_PART_PX = 12


class CalibrationError(Exception):
    """One sentence for the user."""


@dataclass(frozen=True)
class SweepPoint:
    position_steps: int
    blur_px: float
    direction: int  # +1 sweeping up (farther), −1 down
    # The blur of each part of the box's calibration grid (None: not read there).
    part_blur_px: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class FocusStepCalibration:
    """What the sweep found. ``step_um``: focus shift at the subject per drive step;
    ``backlash_steps``: steps lost on a change of direction; ``best_position_steps``:
    best focus of the feature approached from below (drive coordinates)."""

    step_um: float
    backlash_steps: float
    blur_px_per_step: float
    best_position_steps: float
    coc_px: float
    magnification: float | None
    points: list[SweepPoint] = field(repr=False, default_factory=list)

    def record(self, camera: str, lens: str, drive_setting: str = "", at_distance_mm: float | None = None) -> dict:
        """The calibration record (calibration/README.md) for a TOML file."""
        record = {"camera": camera, "lens": lens, "drive_setting": drive_setting, "step_um": round(float(self.step_um), 3),
                  "backlash_steps": round(float(self.backlash_steps), 1)}
        if at_distance_mm is not None:
            record["at_distance_mm"] = round(float(at_distance_mm), 2)
        if self.magnification is not None:
            record["magnification"] = round(float(self.magnification), 4)
        return record


class DriveSweep:
    """Drives a camera's focus in steps and reads the feature's blur at each position,
    through the live pipeline. ``position``: drive steps from where it started."""

    def __init__(self, camera: Camera, roi_px, settings: PipelineSettings | None, frames_per_point: int,
                 settle_frames: int, progress: Callable[[str], None] | None) -> None:
        self.camera = camera
        self.pipeline = FramePipeline()
        settings = settings or PipelineSettings()
        self.settings = settings.with_focus(settings.focus.follow(tuple(int(v) for v in roi_px)))
        self.frames_per_point = frames_per_point
        self.settle_frames = settle_frames
        self.progress = progress
        self.position = 0  # drive steps from where the calibration started
        self.results: dict | None = None
        # The box read as a grid of small parts, each against its own curve (built by
        # :meth:`read_in_parts`); None: the whole box only.
        self.grid: FeatureReference | None = None
        self.live_view_zoom = 1.0  # of the last frame read
        self.lock_views: list[np.ndarray] = []

    def frame(self) -> dict:
        for _ in range(5):
            try:
                frame = self.camera.read_frame()
                self.live_view_zoom = float(frame.metadata.get("live_view_zoom") or 1.0)
                return self.pipeline(frame, self.settings)
            except CorruptFrameError:
                continue
        raise CalibrationError("Live view keeps delivering damaged frames; the calibration stopped.")

    def lock(self) -> None:
        self.frame()
        self.settings = self.settings.with_focus(self.settings.focus.with_lock())
        self.lock_views = []
        for _ in range(_LOCK_FRAMES):
            self.results = self.frame()
            view = self._feature_view(self.results)
            if view is not None:
                self.lock_views.append(view)
        lock = self.results["focus"].lock
        if lock is None:
            raise CalibrationError("The feature could not be locked: choose a box inside the frame.")
        if lock.warning and "too little" in lock.warning.lower():
            raise CalibrationError("The feature holds too little detail for the noise to calibrate by: " + lock.warning)

    def _feature_view(self, results: dict) -> np.ndarray | None:
        focus = results["focus"]
        if focus.lock is None or focus.lock.reference is None or focus.roi_px is None:
            return None
        return extract_view(self.pipeline.engine.last_grey, focus.roi_px, focus.lock.reference.margin_px)

    def read_in_parts(self, max_per_axis: int) -> None:
        """Also read the box as a grid of up to ``max_per_axis``² parts (none under
        ``_MIN_GRID_PART_PX``), each against its own curve from the lock's views; parts too
        plain for the noise are not read."""
        lock = self.results["focus"].lock
        views = [v for v in self.lock_views if v.shape == self.lock_views[-1].shape]
        margin = lock.reference.margin_px
        height, width = views[0].shape[0] - 2 * margin, views[0].shape[1] - 2 * margin
        noise = self.pipeline.engine.noise.sigma or 1.0
        grid = FeatureReference.from_views(views, noise, lock.coc_px, margin,
                                           grid_regions(width, height, max_per_axis, _MIN_GRID_PART_PX))
        fractions = self.settings.focus.lock
        grid.size_parts(fractions.softening_fraction * lock.coc_px, fractions.resolvable_sd_fraction * lock.coc_px,
                        self.pipeline.engine.noise.sigma_sd)
        self.grid = grid if len(grid.readable_parts) >= 2 else None

    def read_parts(self, results: dict) -> tuple[float | None, ...]:
        """The blur of each part of the grid in one frame (None where not read)."""
        if self.grid is None:
            return ()
        view = self._feature_view(results)
        if view is None or view.shape != self.lock_views[-1].shape:
            raise CalibrationError("The feature left the frame during the sweep; steady the subject and start again.")
        noise = self.pipeline.engine.noise
        estimate = self.grid.estimate(view, noise.sigma or 1.0, noise_sd=noise.sigma_sd)
        return tuple(None if part is None or part.beyond_range or part.no_detail else part.blur_px for part in estimate.parts)

    def move(self, steps: int) -> None:
        if steps:
            moved = self.camera.drive_focus(int(steps))
            if moved != steps:
                raise CalibrationError(f"The focus drive stopped at an end after {moved} of {steps} steps; start with "
                                       "the feature in focus, away from the lens's focus limits.")
            self.position += steps

    def read_one(self, results: dict) -> tuple[float, bool]:
        """The feature's blur in one frame's results (the lock's, of the whole box) and
        whether it ran past the estimator's curve."""
        lock = results["focus"].lock
        if lock is None or lock.blur_px is None or lock.state.value == "lost":
            raise CalibrationError("The feature was lost during the sweep; steady the subject and start again.")
        return lock.whole_blur_px, lock.beyond_range and lock.whole_blur_px == lock.blur_px

    def blur(self) -> tuple[float, bool]:
        """The feature's blur here (mean of a few frames) and whether it ran past the curve."""
        blur, beyond, _ = self.blur_and_parts()
        return blur, beyond

    def blur_and_parts(self) -> tuple[float, bool, tuple[float | None, ...]]:
        """As :meth:`blur`, with each grid part's mean blur (None where a frame could not
        read it)."""
        for _ in range(self.settle_frames):
            self.frame()
        readings, parts, beyond = [], [], False
        for _ in range(self.frames_per_point):
            results = self.frame()
            blur, past = self.read_one(results)
            readings.append(blur)
            parts.append(self.read_parts(results))
            beyond = beyond or past
        part_means = tuple(None if any(p[i] is None for p in parts) else float(np.mean([p[i] for p in parts]))
                           for i in range(len(parts[0])))
        return float(np.mean(readings)), beyond, part_means

    def probe_arm(self, arm_blur_px: float, max_steps: int) -> int:
        """Steps upwards from here until the feature's blur reaches ``arm_blur_px``
        (doubling), coming back to where it started."""
        start = self.position
        probe, below = 1, 0
        while True:
            self.move(start + probe - self.position)
            blur, beyond = self.blur()
            if beyond or blur >= arm_blur_px:
                break
            if probe >= max_steps:
                raise CalibrationError(f"The feature did not blur past {ARM_BLUR_COC:g} CoC within {max_steps} steps: "
                                       "the drive is not moving the focus, or the steps are very fine.")
            below, probe = probe, min(probe * 2, max_steps)
        # Two halvings between the last probe short of the arm's end and the first past
        # it: doubling alone can overshoot twofold, and the sweeps (with their guard for
        # the backlash, as long again) would then run into the lens's focus limits.
        for _ in range(2):
            middle = (below + probe) // 2
            if middle <= below:
                break
            self.move(start + middle - self.position)
            blur, beyond = self.blur()
            if beyond or blur >= arm_blur_px:
                probe = middle
            else:
                below = middle
        self.move(start - self.position)
        return probe

    def sweep(self, low: int, high: int, stride: int, guard: int, direction: int) -> list[SweepPoint]:
        """Readings from ``low`` to ``high`` (up, ``direction`` +1) or back (−1), in
        ``stride`` steps, starting ``guard`` steps beyond the range so that the backlash of
        the change of direction is taken out first. Readings past the curve are dropped."""
        points = []
        if direction > 0:
            self.move(low - guard - self.position)
            targets = range(low, high + 1, stride)
        else:
            self.move(high + guard - self.position)
            targets = range(high, low - 1, -stride)
        for target in targets:
            self.move(target - self.position)
            blur, beyond, parts = self.blur_and_parts()
            if not beyond:
                points.append(SweepPoint(target, blur, direction, parts))
        return points

    def settle_at(self, position: float, guard: int) -> None:
        """To ``position`` (rounded), approached from below as an upward sweep does."""
        self.move(int(math.floor(position)) - guard - self.position)
        self.move(int(round(position)) - self.position)


def fit_sweep(points: list[SweepPoint], coc_px: float) -> tuple[float, float]:
    """(g px per step, x₀ steps) from one sweep
    (:func:`~focuslock.focus.through_focus.fit_through_focus`)."""
    try:
        return fit_through_focus([p.position_steps for p in points], [p.blur_px for p in points], coc_px)
    except ThroughFocusError as error:
        raise CalibrationError(str(error)) from None


def _fit_both(up: list[SweepPoint], down: list[SweepPoint], coc_px: float) -> tuple[float, float, float]:
    """(g, best focus sweeping up, best focus sweeping down) from both sweeps at once.

    One slope for all four arms (a disc grows alike on both sides of focus) and one
    flattening ``h`` of the V's bottom; only the centre differs between the sweeps, by
    the backlash. Given each reading's arm the model is linear in (g, g·x₀↑, g·x₀↓, h):
    left arm e = g·(x₀ − x) − h, right arm e = g·(x − x₀) − h. Sharing the slope between
    the sweeps is what makes their centres, and so the backlash, precise."""
    rows, values, arms = [], [], []
    for points, column in ((up, 1), (down, 2)):
        x = np.array([p.position_steps for p in points], float)
        e = np.array([p.blur_px for p in points], float)
        lowest = x[int(np.argmin(e))]
        for xi, ei in zip(x, e):
            if ei < ARM_FROM_COC * coc_px or xi == lowest:
                continue
            side = 1.0 if xi > lowest else -1.0
            row = [side * xi, 0.0, 0.0, -1.0]
            row[column] = -side
            rows.append(row)
            values.append(ei)
            arms.append((column, side))
    counts = [arms.count((column, side)) for column in (1, 2) for side in (-1.0, 1.0)]
    if min(counts) < 3:
        g_up, best_up = fit_sweep(up, coc_px)
        g_down, best_down = fit_sweep(down, coc_px)
        return 0.5 * (g_up + g_down), best_up, best_down
    (g, u, d, _), *_ = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)
    if not g > 0:
        raise CalibrationError("The feature's blur did not grow on both sides of focus: the sweep missed best focus.")
    return float(g), float(u / g), float(d / g)


def _fit_by_parts(up: list[SweepPoint], down: list[SweepPoint], coc_px: float) -> tuple[float, float] | None:
    """(g, backlash) from the parts of the box's grid: None when fewer than two parts
    have three readings on each of the four arms.

    A box deeper than the depth of field (a tilted label, a coin's face at 2×) reads as
    its sharpest detail, which walks across the box as focus moves: the whole box's arms
    come out too shallow or too steep (−16 % and +27 % of the step for boxes 3.5× and
    5.5× the depth of field on the bench's coin). A small part of it spans little depth.
    Each part has its own best focus (the plane is tilted); the slope, the backlash and
    each part's flattening are shared: e = g·s·(x − x₀ᵢ + B·[down]) − hᵢ on the arm of
    side s, linear in (g, g·x₀ᵢ, g·B, hᵢ)."""
    count = max((len(p.part_blur_px) for p in up + down), default=0)
    arms_by_part: dict[int, list[tuple[float, float, int, float]]] = {}
    for part in range(count):
        rows = []
        for points, is_down in ((up, 0), (down, 1)):
            read = [(p.position_steps, p.part_blur_px[part]) for p in points
                    if len(p.part_blur_px) > part and p.part_blur_px[part] is not None]
            if len(read) < 5:
                break
            lowest = min(read, key=lambda r: r[1])[0]
            arm = [(float(x), float(e), is_down, 1.0 if x > lowest else -1.0) for x, e in read
                   if e >= ARM_FROM_COC * coc_px and x != lowest]
            if min(sum(1 for a in arm if a[3] < 0), sum(1 for a in arm if a[3] > 0)) < 3:
                break
            rows += arm
        else:
            arms_by_part[part] = rows
    if len(arms_by_part) < 2:
        return None
    parts = sorted(arms_by_part)
    columns = 2 + 2 * len(parts)  # g, g·B, then g·x₀ᵢ and hᵢ for each part
    design, values = [], []
    for k, part in enumerate(parts):
        for x, e, is_down, side in arms_by_part[part]:
            row = [0.0] * columns
            row[0] = side * x
            row[1] = side * is_down
            row[2 + 2 * k] = -side
            row[3 + 2 * k] = -1.0
            design.append(row)
            values.append(e)
    solution, *_ = np.linalg.lstsq(np.array(design), np.array(values), rcond=None)
    g = float(solution[0])
    if not g > 0:
        return None
    return g, float(solution[1]) / g


def calibrate_focus_steps(camera: Camera, roi_px, *, settings: PipelineSettings | None = None, points_per_arm: int = 12,
                          frames_per_point: int = 3, settle_frames: int = 1, max_probe_steps: int = 4000,
                          progress: Callable[[str], None] | None = None) -> FocusStepCalibration:
    """Sweep ``camera``'s focus drive through the feature in ``roi_px`` (live-view px),
    which should be in focus when this starts, and measure the drive. The camera must be
    open; it is left at the feature's best focus, approached from below."""
    if not camera.capabilities.focus_drive:
        raise CalibrationError(f"{camera.name} cannot drive focus from the computer; nothing to calibrate.")
    sweep = DriveSweep(camera, roi_px, settings, frames_per_point, settle_frames, progress)
    sweep.lock()
    optics, coc = sweep.results["optics"], sweep.results["coc"]
    if optics is None or coc.pixel_pitch_um is None:
        raise CalibrationError("Calibrating needs the optics: give the focal length, aperture and magnification "
                               "(or a lens that reports its focus distance) and the sensor.")
    coc_px = coc.coc_px
    sweep.read_in_parts(_GRID_PER_AXIS)

    # How far the blur reaches the arm's end: doubling probes upwards, then back.
    probe = sweep.probe_arm(ARM_BLUR_COC * coc_px, max_probe_steps)
    half_width = max(int(round(probe * 1.25)), points_per_arm)
    stride = max(1, half_width // points_per_arm)
    low, high = -stride * points_per_arm, stride * points_per_arm
    if progress:
        progress(f"sweeping ±{high} steps in steps of {stride}")
    # Each sweep starts beyond its range by more than any backlash a drive is likely to
    # have (it is not known yet).
    guard = max(high, MIN_BACKLASH_GUARD_STEPS)
    up = sweep.sweep(low, high, stride, guard, +1)
    down = sweep.sweep(low, high, stride, guard, -1)
    points = up + down
    g, best_up, best_down = _fit_both(up, down, coc_px)
    backlash = best_up - best_down
    by_parts = _fit_by_parts(up, down, coc_px)
    if by_parts is not None:
        g, backlash = by_parts
    depth_mm = depth_for_live_view_blur_mm(optics, coc, g)
    if depth_mm is None:
        raise CalibrationError("The optics give no finite depth of field here; the step cannot be put in µm.")
    # Leave the lens at best focus, approached from below as the sweep up did.
    if abs(backlash) > 0.8 * guard:
        raise CalibrationError(f"The backlash ({backlash:.0f} steps) is close to the {guard} steps the sweep "
                               "allowed for it; the figures cannot be trusted.")
    sweep.settle_at(best_up, guard)
    return FocusStepCalibration(step_um=depth_mm * 1000.0, backlash_steps=backlash, blur_px_per_step=g,
                                best_position_steps=best_up, coc_px=coc_px, magnification=optics.magnification,
                                points=points)


# ---------------------------------------------------------------------- the record file

def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(value):
            raise CalibrationError(f"A calibration figure is not a finite number ({value}); nothing was saved.")
        return repr(float(value)) if isinstance(value, float) else repr(int(value))
    # JSON's string escapes (\" \\ \n \uXXXX) are TOML's basic-string escapes.
    import json

    return json.dumps(str(value), ensure_ascii=False)


def save_record(path, record: dict) -> None:
    """Add ``record`` to the ``[[focus_drive]]`` records of ``path`` (calibration/README.md),
    replacing the record for the same camera, lens and drive setting; the file is
    written whole (temporary file, then rename), so a failure leaves the old one."""
    from pathlib import Path

    from focuslock.io.outputs import OutputError, replace_file
    from focuslock.core.resources import DataFileError, read_toml

    path = Path(path)
    records: list[dict] = []
    if path.exists():
        try:
            records = [r for r in read_toml(path).get("focus_drive", []) if isinstance(r, dict)]
        except DataFileError as error:
            raise CalibrationError(f"{error} Fix or move it; the new calibration was not saved.") from None
    key = ("camera", "lens", "drive_setting")
    records = [r for r in records if tuple(r.get(k, "") for k in key) != tuple(record.get(k, "") for k in key)]
    records.append(record)
    lines = ["# Focus-drive calibrations measured by `focuslock calibrate focus-steps` (calibration/README.md).", ""]
    for entry in records:
        lines.append("[[focus_drive]]")
        lines += [f"{name} = {_toml_value(value)}" for name, value in entry.items()]
        lines.append("")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, "\n".join(lines).encode("utf-8"))
    except (OSError, OutputError) as error:
        raise CalibrationError(f"The calibration could not be saved to {path}: {error}") from None


def user_calibration_path():
    """Where measured calibrations are kept: the user's calibration folder."""
    from focuslock.core.resources import user_config_folder

    return user_config_folder() / "calibration" / "focus-drive.toml"
