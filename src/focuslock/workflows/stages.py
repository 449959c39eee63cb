"""Opening the rail or turntable a profile names, for a command: the hardware backends
through :func:`focuslock.devices.rails.profile.open_stage`, the simulated bench's own
(its rail, its turntable) when the camera is the bench; and the tethered session a spin
logs its angles into (the capture-session path of ``capture --session``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from focuslock.devices.base import Camera
from focuslock.devices.rails.base import Axis, BoundedStage, MotionError, Stage
from focuslock.devices.rails.profile import StageProfile, find_stage_profile, open_stage
from focuslock.simulators.sim import SimulatedBench
from focuslock.simulators.sim_stage import SimRail, SimTurntable
from focuslock.workflows.watch import CaptureLog, WatchError, WatchOptions, open_session

__all__ = ["open_profile_stage", "session_taker"]


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


def session_taker(session: Path, folder: Path, box_px: tuple[int, int, int, int], live_view_width_px: int,
                  capture_width_px: int | None) -> tuple[CaptureLog, Callable[[Camera, Path, str], list[Path]]]:
    """A tethered session in ``session`` whose shots are named ``{session}_{sku}_{seq}``
    with the angle's name as the code, and judged by the session's judge on the feature
    (``box_px`` in live view, scaled to the files' width when it is known)."""
    scale = (capture_width_px / live_view_width_px) if capture_width_px else 1.0
    box = tuple(float(v) * scale for v in box_px)
    try:
        store, judge = open_session(Path(session), Path(folder), [tuple(int(round(v)) for v in box)], None, {}, None)
    except WatchError as error:
        raise MotionError(str(error)) from None
    from focuslock.session.naming import NamePattern

    log = CaptureLog(store, judge, WatchOptions(), NamePattern("{session}_{sku}_{seq:03d}"))

    def take(camera: Camera, into: Path, stem: str) -> list[Path]:
        return [Path(log.take(camera, into, sku=stem)["path"])]

    return log, take
