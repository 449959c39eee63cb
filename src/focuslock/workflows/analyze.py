"""``focuslock analyze``: frame-by-frame focus check of a take, a stack or a folder.

A pass locks on the lock frame and runs every frame through the live engine in take
mode: followed, measured, judged. With ``--lock-best`` a first pass (locked on frame 0)
finds the sharpest frame and a second locks there; the second replays what the first
kept of each frame — the part the feature could reach, and the sharpest frame whole —
instead of decoding the take again (it decodes again only when that would not fit in
memory, or when its tracker reaches outside what was kept). The first pass only ranks
the frames by their detail (the fine-band energy judging reads); every verdict is the
second's. Decoding runs on a helper thread, a few frames ahead; without an overlay video
a frame is converted to RGB only in the rows the feature can reach.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from focuslock.focus.lock import LockSettings
from focuslock.focus.measure import DEFAULT_MEASURE, MEASURES
from focuslock.optics.lens_setup import ApertureSetup, SensorSetup
from focuslock.workflows.overlay_video import OVERLAY_MODES
from focuslock.workflows.take_input import AnalysisError, is_video
from focuslock.workflows.take_pass import ProgressCallback, run_pass
from focuslock.workflows.take_replay import Replay, ReplayMiss
from focuslock.workflows.take_report import AnalysisReport

# The command: analyze itself, and whether a target is judged as a stack. Its parts
# live in their homes (take_input, take_outputs, take_pass, take_report).
__all__ = ["analyze", "is_stack"]


def is_stack(target: str) -> bool:
    """A stack or a folder (or a glob of pictures), not a video nor one picture: judged
    against its sharpest frame unless told otherwise."""
    path = Path(target)
    return not is_video(path) and not path.is_file()


def analyze(target: str, roi_px: tuple[int, int, int, int], *, lock_frame: int | None = None, lock_best: bool = False,
            track: bool = True, measure: str = DEFAULT_MEASURE, lock_settings: LockSettings | None = None,
            overlay_video: Path | None = None, progress: ProgressCallback | None = None,
            sensor: SensorSetup | None = None, lens: ApertureSetup | None = None, overlay: str = "peaking") -> AnalysisReport:
    """Analyse every frame of ``target`` for the feature in ``roi_px``.

    ``roi_px`` is where the feature is in the lock frame (``lock_frame``; by default frame
    0 of a video and the sharpest frame of a stack or folder; with ``lock_best`` — the
    default for a stack or folder — it is where the feature is in frame 0, and the lock
    goes to the sharpest frame found by a first pass). The frames run through the
    same :class:`~focuslock.focus.engine.FocusEngine` as live view, in take mode: the
    noise is measured once on the lock frame and every frame is judged on its own.
    With ``sensor`` the CoC comes from the optics (the sensor's CoC in the take's
    pixels) instead of ``lock_settings.coc_px``, and blurs are also given in µm; with
    ``lens`` too, as µm of defocus at the subject. ``overlay``: what ``overlay_video``
    paints, one of :data:`OVERLAY_MODES` (peaking, or the focus map). ``progress``: told
    how far each pass is (:class:`~focuslock.workflows.take_pass.PassProgress`); the
    command line draws it, library code never writes to the terminal.
    """
    if overlay not in OVERLAY_MODES:
        raise AnalysisError(f"Unknown overlay {overlay!r}; use one of {', '.join(OVERLAY_MODES)}.")
    if lens is not None and sensor is None:
        raise AnalysisError("The defocus at the subject needs the sensor too: add --camera NAME or --sensor-width-mm MM.")
    if measure not in MEASURES:
        raise AnalysisError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")
    lock_settings = dataclasses.replace(lock_settings or LockSettings(), take_mode=True)
    if lock_frame is None and not lock_best:
        # A stack or a folder is judged against its sharpest frame unless told otherwise:
        # locked on frame 0 (often the softest of a stack), every frame sharper than it
        # would read "SHARP" only for being no softer than frame 0. A video locks on its
        # first frame, where a take usually starts in focus.
        lock_best = is_stack(target)
    if not lock_best:
        lock_index = int(lock_frame) if lock_frame else 0
        return run_pass(target, roi_px, lock_index, track, measure, lock_settings, overlay_video,
                        progress, sensor, lens, overlay=overlay)
    # A first pass locked on frame 0 finds the sharpest frame; the second locks there,
    # replaying what the first kept (an overlay video needs whole frames: decoded again).
    kept = Replay() if overlay_video is None else None
    # Both passes show their progress: the first (which decodes) is most of the time.
    # It only ranks the frames by their detail (the fine-band energy the judging reads):
    # every verdict is the second pass's.
    first = run_pass(target, roi_px, 0, track, measure, dataclasses.replace(lock_settings, ranking_only=True), None,
                     progress, sensor, None, keep=kept, label="analyze, finding the sharpest frame")
    second_label = "analyze, against the sharpest frame"
    best = first.best_frame
    if best is None:
        raise AnalysisError(f"The feature could not be measured in any frame of {target}.")
    roi_best = next(r for r in first.frames if r.index == best).roi_px
    best_roi = tuple(int(round(v)) for v in roi_best) if roi_best is not None else roi_px
    if kept is not None and kept.complete:
        kept.frame_count_hint = first.frame_count_hint
        try:
            return run_pass(target, best_roi, best, track, measure, lock_settings, None, progress, sensor, lens,
                            replay=kept, label=second_label)
        except ReplayMiss:
            pass  # the second pass's tracker went beyond what was kept: decode again
        finally:
            kept.release()
    return run_pass(target, best_roi, best, track, measure, lock_settings, overlay_video, progress, sensor, lens,
                    overlay=overlay, label=second_label)
