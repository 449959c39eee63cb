"""Opening the rail or turntable a profile names, for a command: the hardware backends
through :func:`focuslock.devices.rails.profile.open_stage`, the simulated bench's own
(its rail, its turntable) when the camera is the bench; and the tethered session a spin
logs its angles into (the capture-session path of ``capture --session``)."""

from __future__ import annotations

from pathlib import Path

from focuslock.core.frames import Frame
from focuslock.devices.base import Camera
from focuslock.devices.rails.base import Axis, BoundedStage, MotionError, Stage
from focuslock.devices.rails.profile import StageProfile, find_stage_profile, open_stage
from focuslock.devices.zoom import ZoomWindow
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_stage import SimRail, SimTurntable
from focuslock.workflows.watch import CaptureLog, WatchError, WatchOptions, open_session

__all__ = ["SpinSession", "open_profile_stage"]

# The share of the frame's width a spin's feature may move from its place in the first frame.
_SPIN_DRIFT_SHARE = 0.5


def _bench_of(camera: Camera) -> SimulatedBench | None:
    inner = getattr(camera, "_camera", camera)  # a DriveCounter wraps the camera it counts for
    return inner if isinstance(inner, SimulatedBench) else None


def open_profile_stage(name_or_path: str, camera: Camera, axis: Axis, *, radius_mm: float = 0.85) -> tuple[StageProfile, BoundedStage]:
    """The stage of the profile ``name_or_path``, opened and bounded; ``axis`` is what the
    command needs (a stack needs a rail, a spin a turntable). ``radius_mm``: the simulated
    turntable's feature from its axis."""
    profile = find_stage_profile(name_or_path)
    if profile.axis is not axis:
        raise MotionError(f"{profile.name} is a {profile.axis.value}; this needs a {axis.value}.")

    def simulated(p: StageProfile) -> Stage:
        bench = _bench_of(camera)
        if bench is None:
            raise MotionError(f"{p.name} is the simulated bench's; use it with --source sim.")
        if p.axis is Axis.RAIL:
            return SimRail(bench, name=p.name)
        return SimTurntable(bench, radius_mm=radius_mm, name=p.name)

    return profile, open_stage(profile, simulated)


class SpinSession:
    """A tethered session in ``session`` that logs a spin: the first angle's frame is its
    reference (the session opens on it, as ``watch`` opens on the first picture), every
    frame named ``{session}_{sku}_{seq}`` with the angle's name as the code and judged by
    the session's judge on the feature (``box_px`` in the live view of ``frame``, zoomed or
    not, mapped to the files' pixels when their width is known). :meth:`take` is the
    spin's capture."""

    def __init__(self, session: Path, box_px: tuple[int, int, int, int], frame: Frame,
                 capture_width_px: int | None) -> None:
        info = frame.info
        height, width = frame.image.shape[:2]
        if info.live_view_zoom and info.live_view_zoom != 1.0 and info.live_view_zoom_origin_px is not None:
            box_px = ZoomWindow(info.live_view_zoom, info.live_view_zoom_origin_px, (width, height)).to_unzoomed(box_px)
        scale = (capture_width_px / width) if capture_width_px else 1.0
        self.session = Path(session)
        x, y, w, h = (int(round(float(v) * scale)) for v in box_px)
        self.box = (x, y, w, h)
        self.log: CaptureLog | None = None
        self.results: list[dict] = []

    def take(self, camera: Camera, folder: Path, stem: str) -> list[Path]:
        if self.log is None:
            paths = camera.capture(folder, lambda card: stem + Path(card).suffix.lower())
            try:
                # A turntable carries the feature across the frame by design: drift is no fault here.
                store, judge = open_session(self.session, Path(folder), [self.box], None, {}, _SPIN_DRIFT_SHARE)
            except WatchError as error:
                raise MotionError(str(error)) from None
            from focuslock.session.naming import NamePattern

            self.log = CaptureLog(store, judge, WatchOptions(), NamePattern("{session}_{sku}_{seq:03d}"))
            result = self.log(paths, camera.name, sku=stem)
        else:
            result = self.log.take(camera, folder, sku=stem)
        self.results.append(result)
        return [Path(result["path"])]

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
