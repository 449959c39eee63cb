"""``focuslock stack-shoot``: drive and capture a focus stack, then check its coverage.

The frames are planned from the optics (the depth of field of one frame, from the source's
lens and sensor) and the focus-drive calibration (µm of focus per drive step,
:mod:`focuslock.workflows.calibrate`): one frame every depth of field × (1 − overlap), from
``near`` steps nearer than the present focus to ``far`` steps farther. Every slice is
approached from the same side (from below: the first move goes past the near end by
more than the backlash), so that each step moves the glass by the same amount. Each
capture is downloaded and verified by the camera layer before the next move; an
interruption (Ctrl-C, a pulled cable, a full card) stops between slices and every file
already saved is listed. ``stack.json`` beside the files records the slices in order, and
the focus moved per drive step and the planned CoC where they are known
(:mod:`focuslock.workflows.stack_manifest`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from focuslock.core.errors import FocuslockError
from focuslock.core.signals import StopSignals
from focuslock.devices.base import Camera, CameraError, CorruptFrameError
from focuslock.optics.coc import coc_in_picture
from focuslock.optics.dof import DofResult
from focuslock.runtime.pipeline import FramePipeline, PipelineSettings
from focuslock.workflows.drive_sweep import MIN_BACKLASH_GUARD_STEPS
from focuslock.workflows.marks import GoToResult, Mark, go_to_mark
from focuslock.workflows.stack_manifest import MANIFEST_NAME, manifest_fields

__all__ = ["InterruptFlag", "StackShootError", "StackShot", "check_shot", "frame_step_steps", "go_to_nearer_mark", "optics_of",
           "plan_slices", "shoot_between_marks", "shoot_stack",
           "stopped_between_slices", "write_manifest", "step_span"]


# A paused stack looks every this often whether it may go on.
_PAUSE_POLL_S = 0.05


def capture_slice(camera: Camera, folder: Path, shot: StackShot) -> list:
    """Capture one slice into ``shot.files`` and return its files. A failed capture stops
    the stack (``shot.stopped`` says why) and keeps what it saved (returned; empty: nothing)."""
    try:
        files = camera.capture(folder)
    except CameraError as error:
        files = list(getattr(error, "saved_paths", []))
        shot.stopped = error.user_message
        if not files:
            return files
    shot.files.append(files)
    return files


def stopped_between_slices(should_pause: Callable[[], bool] | None, should_stop: Callable[[], bool] | None) -> bool:
    """Between two slices of a stack: wait while ``should_pause`` says so (the drive where
    it is, nothing captured); whether ``should_stop`` says to end the stack here."""
    while should_pause is not None and should_pause() and not (should_stop is not None and should_stop()):
        time.sleep(_PAUSE_POLL_S)
    return should_stop is not None and should_stop()


class StackShootError(FocuslockError):
    """One sentence for the user."""


@dataclass
class StackShot:
    """A focus stack as shot: its folder, the planned positions and the files each gave."""

    folder: Path
    positions_steps: list[int]  # planned, relative to focus at the start
    files: list[list[Path]] = field(default_factory=list)  # per slice shot
    stopped: str | None = None  # why the stack stopped early
    # Recorded for stack-check when known: focus moved per drive step (µm at the subject),
    # the planned CoC (mm on the sensor) and the sensor's width (mm).
    step_um: float | None = None
    coc_mm: float | None = None
    sensor_width_mm: float | None = None
    # A closed-loop stack (workflows/closed_loop.py): what moved focus, and each frame's
    # step as planned and as measured on live view (a SliceCheck, with ``fields()``).
    drive: str | None = None
    checks: list = field(default_factory=list)

    @property
    def all_files(self) -> list[Path]:
        return [path for slice_files in self.files for path in slice_files]

    def manifest(self) -> dict:
        slices = [{"position_steps": p, "files": [path.name for path in files]}
                  for p, files in zip(self.positions_steps, self.files, strict=False)]
        for entry, check in zip(slices, self.checks, strict=False):
            entry.update(check.fields())
        extra = {"drive": self.drive} if self.drive else {}
        if len(self.checks) > len(self.files):  # the step that would not move, no frame taken
            extra["refused_step"] = self.checks[len(self.files)].fields()
        return {"slices": slices, "planned_slices": len(self.positions_steps), "stopped": self.stopped, **extra,
                **manifest_fields(self.step_um, self.coc_mm, self.sensor_width_mm)}


def frame_step_steps(dof: DofResult, step_um: float, overlap: float, criterion: str = "geometric") -> int:
    """Drive steps between frames: one depth of field × (1 − overlap), at least one step."""
    if not 0.0 <= overlap < 1.0:
        raise StackShootError(f"The overlap is a fraction of the depth of field from 0 up to 1, got {overlap:g}.")
    depth_um = dof.planning_dof_mm(criterion) * 1000.0 * (1.0 - overlap)
    if not math.isfinite(depth_um):
        raise StackShootError("The depth of field is unbounded here; no stack is needed.")
    return max(1, int(math.floor(depth_um / step_um)))


def plan_slices(near_steps: int, far_steps: int, every_steps: int) -> list[int]:
    """Positions (steps from the present focus) from ``-near_steps`` to ``+far_steps``,
    evenly, no more than ``every_steps`` apart; the last exactly at the far end."""
    if near_steps < 0 or far_steps < 0:
        raise StackShootError("--near-steps and --far-steps count steps nearer and farther: give numbers ≥ 0.")
    span = near_steps + far_steps
    if span == 0:
        return [0]
    count = int(math.ceil(span / every_steps)) + 1
    return [int(round(-near_steps + i * span / (count - 1))) for i in range(count)]


def step_span(positions: list[int]) -> str:
    """The steps the plan really takes between frames: "150", or "13–14" when rounding
    makes them differ (never the largest allowed, which the header used to give)."""
    gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
    if not gaps:
        return "0"
    low, high = min(gaps), max(gaps)
    return f"{low}" if low == high else f"{low}–{high}"


def optics_of(camera: Camera, settings: PipelineSettings | None = None) -> tuple[DofResult, float | None]:
    """The depth of field the camera's frames report (through the live pipeline), and the
    sensor width (mm) when they say it."""
    pipeline = FramePipeline()
    for _ in range(5):
        try:
            frame = camera.read_frame()
            result = pipeline(frame, settings or PipelineSettings())
            break
        except CorruptFrameError:
            continue
    else:
        raise StackShootError("Live view keeps delivering damaged frames; no stack was shot.")
    optics = result.optics
    if optics is None:
        raise StackShootError("Planning a stack needs the optics: a source that reports its lens, aperture and "
                              "focus distance, and the sensor.")
    return optics, frame.info.sensor_width_mm


def shoot_stack(camera: Camera, positions_steps: list[int], folder: Path, *,
                progress: Callable[[int, int, list[Path]], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                should_pause: Callable[[], bool] | None = None,
                step_um: float | None = None, optics: DofResult | None = None,
                sensor_width_mm: float | None = None) -> StackShot:
    """Drive to each position (steps from the present focus; always moving up, the first
    approached from below) and capture into ``folder``. Stops between slices when
    ``should_stop`` says so or the camera fails; what was saved is in the result. While
    ``should_pause`` says so it waits between slices (the drive where it is, nothing
    moving: a pause to adjust the light or chase a fly off the subject). ``step_um`` (µm
    of focus per drive step), ``optics`` and ``sensor_width_mm``, when given, go into
    ``stack.json`` for the check: how far apart the frames lie, and the planned CoC."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shot = StackShot(folder, list(positions_steps), step_um=step_um,
                     coc_mm=optics.coc_mm if optics is not None else None, sensor_width_mm=sensor_width_mm)
    position = 0
    try:
        first = positions_steps[0] - MIN_BACKLASH_GUARD_STEPS
        position += camera.drive_focus(first)
        for index, target in enumerate(positions_steps):
            if stopped_between_slices(should_pause, should_stop):
                shot.stopped = "stopped by the user"
                break
            moved = camera.drive_focus(target - position)
            position += moved
            if position != target:
                shot.stopped = f"the focus drive reached its end at slice {index + 1}"
                break
            files = capture_slice(camera, folder, shot)
            if shot.stopped:
                break
            if progress is not None:
                progress(index, len(positions_steps), files)
    except CameraError as error:
        shot.stopped = error.user_message
    write_manifest(shot)
    return shot


def go_to_nearer_mark(camera: Camera, first: Mark, second: Mark, position_steps: int, every_steps: int, *,
                      blur_px_per_step: float | None = None,
                      settings: PipelineSettings | None = None) -> tuple[list[int], GoToResult]:
    """Drive back to the nearer of two marks (finding its best focus again from the
    picture) and plan frames ``every_steps`` apart from there up to the farther one's
    stored position. ``position_steps``: where the drive is now, in the marks' count.
    Returns the positions (steps from here) and where the drive arrived."""
    near, far = sorted((first, second), key=lambda mark: mark.position_steps)
    arrived = go_to_mark(camera, near, position_steps, blur_px_per_step=blur_px_per_step, settings=settings)
    span = far.position_steps - arrived.position_steps
    if span < 0:
        raise StackShootError(f"Mark {far.name} lies nearer than mark {near.name}'s best focus; set the marks again.")
    return plan_slices(0, span, every_steps), arrived


def shoot_between_marks(camera: Camera, first: Mark, second: Mark, position_steps: int, step_um: float, folder: Path, *,
                        overlap: float = 0.3, blur_px_per_step: float | None = None, settings: PipelineSettings | None = None,
                        progress: Callable[[int, int, list[Path]], None] | None = None,
                        should_stop: Callable[[], bool] | None = None,
                        should_pause: Callable[[], bool] | None = None) -> tuple[StackShot, GoToResult]:
    """A stack from one mark to the other, frames one depth of field × (1 − overlap) apart
    (:func:`go_to_nearer_mark`, then :func:`shoot_stack`)."""
    optics, sensor_width_mm = optics_of(camera, settings)
    every = frame_step_steps(optics, step_um, overlap)
    positions, arrived = go_to_nearer_mark(camera, first, second, position_steps, every,
                                           blur_px_per_step=blur_px_per_step, settings=settings)
    return shoot_stack(camera, positions, folder, progress=progress, should_stop=should_stop,
                       should_pause=should_pause, step_um=step_um, optics=optics,
                       sensor_width_mm=sensor_width_mm), arrived


def check_shot(shot: StackShot, optics: DofResult | None, sensor_width_mm: float | None):
    """``stack-check`` on a shot stack's frames at the optics' CoC in the files' own pixels
    (they span the sensor's width; the frame's diagonal / 1500 when the sensor is not
    known, or no optics). The CoC goes into ``stack.json`` too, where it was not yet.
    Raises :class:`~focuslock.workflows.stack_check.StackCheckError`."""
    from focuslock.io.limits import header_size
    from focuslock.workflows.stack_check import run_stack_check

    coc_px = None
    size = header_size(shot.all_files[0].read_bytes()[:65536]) if optics and sensor_width_mm and shot.all_files else None
    if size is not None and optics is not None:
        coc_px = coc_in_picture(size[0], size[1], coc_um=optics.coc_mm * 1000.0, sensor_width_mm=sensor_width_mm).coc_px
        if shot.coc_mm is None:
            shot.coc_mm, shot.sensor_width_mm = optics.coc_mm, sensor_width_mm
            write_manifest(shot)
    return run_stack_check(shot.folder, coc_px, coc_from="the lens and sensor" if coc_px is not None else None)


def write_manifest(shot: StackShot) -> None:
    """``stack.json`` beside the frames, replaced whole (a failure to write it loses no frame)."""
    from focuslock.io.outputs import OutputError, replace_file

    try:
        replace_file(shot.folder / MANIFEST_NAME, json.dumps(shot.manifest(), indent=2).encode("utf-8"))
    except OutputError:
        pass  # the frames matter; the manifest is a convenience


def InterruptFlag() -> StopSignals:  # read as the flag it gives: ``with InterruptFlag() as stop``
    """Ctrl-C between slices: the first one stops after the capture in flight (its file
    is downloaded and verified), a second one is left to Python (it stops at once)."""
    return StopSignals(("SIGINT",), second_passes_through=True)
