"""A rail and a turntable on the simulated bench, with the faults real ones have.

* **The rail** moves the camera along the optical axis: the plane of focus moves through
  the subject by exactly the rail's travel (at the stack's few mm the magnification
  changes by well under a per cent per mm at the bench's working distances; it is not drawn).
* **The turntable** turns the subject about a vertical axis ``radius_mm`` behind the
  feature the camera looks at: at an angle θ the subject moves sideways by r·sin θ (the
  picture shifts) and away by r·(1 − cos θ) (it leaves the plane of focus). The scene is
  drawn once: the subject is carried round, it does not show another face.

Faults, injected by tests and scripts:

* :class:`StepLoss` — a move reported but not made, or made in part (a stalled motor, a
  slipping coupling; the focus drive of a body losing steps uses it too);
* ``settle_frames`` — after a move returns the picture goes on changing for a few frames
  (a rail ringing, a table wobbling), each frame taking half of what is left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from focuslock.devices.rails.base import Axis, MotionError, StageStatus

if TYPE_CHECKING:
    from focuslock.simulators.sim import SimulatedBench

__all__ = ["BenchStage", "SimRail", "SimTurntable", "StepLoss"]


class BenchStage(Protocol):
    """What the bench asks of a stage on it, once per live-view frame."""

    focus_shift_mm: float

    def on_frame(self) -> None: ...


@dataclass
class StepLoss:
    """Moves that do not happen as reported: the next ``share`` of a move made (0: lost)."""

    pending: list[float] = field(default_factory=list)
    lost: int = 0

    def lose_next(self, share: float = 0.0, moves: int = 1) -> None:
        """The next ``moves`` moves make only ``share`` of what they report."""
        self.pending.extend([float(share)] * moves)

    def made(self, amount: float) -> float:
        if not self.pending or amount == 0:
            return amount
        self.lost += 1
        return amount * self.pending.pop(0)


class _SettlingAxis:
    """Where a stage really is, and where the picture shows it (lagging ``settle_frames``)."""

    def __init__(self, settle_frames: int) -> None:
        self.settle_frames = int(settle_frames)
        self.actual = 0.0
        self.shown = 0.0
        self._frames_left = 0

    def go(self, amount: float) -> None:
        self.actual += amount
        if self.settle_frames <= 0:
            self.shown = self.actual
        else:
            self._frames_left = self.settle_frames

    def on_frame(self) -> None:
        if self._frames_left > 0:
            self._frames_left -= 1
            self.shown = self.actual if self._frames_left == 0 else self.shown + 0.5 * (self.actual - self.shown)


class SimRail:
    """The bench's rail, in µm (positive: the camera moves towards the subject)."""

    axis = Axis.RAIL

    def __init__(self, bench: SimulatedBench, *, name: str = "Simulated bench rail", settle_frames: int = 0) -> None:
        self.name = name
        self.bench = bench
        self.loss = StepLoss()
        self._axis = _SettlingAxis(settle_frames)
        self._reported_um = 0.0
        self.focus_shift_mm = 0.0
        bench.stages.append(self)

    @property
    def settle_frames(self) -> int:
        return self._axis.settle_frames

    @settle_frames.setter
    def settle_frames(self, frames: int) -> None:
        self._axis.settle_frames = int(frames)

    @property
    def actual_um(self) -> float:
        """Where the rail really is (the truth a test compares with)."""
        return self._axis.actual

    def on_frame(self) -> None:
        self._axis.on_frame()
        self.focus_shift_mm = self._axis.shown / 1000.0

    def move(self, amount: float, speed: float | None = None) -> float:
        self.bench.link.check()
        self._axis.go(self.loss.made(float(amount)))
        self._reported_um += float(amount)
        return self._reported_um

    def position(self) -> float:
        return self._reported_um

    def status(self) -> StageStatus:
        return StageStatus(False, self._reported_um)

    def stop(self) -> None:
        pass

    def home(self) -> float:
        self._reported_um = 0.0
        return 0.0

    def close(self) -> None:
        if self in self.bench.stages:
            self.bench.stages.remove(self)


class SimTurntable:
    """The bench's turntable, in degrees; the feature ``radius_mm`` in front of its axis."""

    axis = Axis.TURNTABLE

    def __init__(self, bench: SimulatedBench, *, radius_mm: float = 1.5, name: str = "Simulated bench turntable",
                 settle_frames: int = 0) -> None:
        if not radius_mm >= 0:
            raise MotionError("The turntable's radius must be 0 mm or more.")
        self.name = name
        self.bench = bench
        self.radius_mm = float(radius_mm)
        self.loss = StepLoss()
        self._axis = _SettlingAxis(settle_frames)
        self._reported_deg = 0.0
        self.focus_shift_mm = 0.0
        bench.stages.append(self)

    def offsets(self, angle_deg: float) -> tuple[float, float]:
        """The subject's sideways shift (live-view px) and its move away (mm) at ``angle_deg``."""
        theta = math.radians(angle_deg)
        sideways_mm = self.radius_mm * math.sin(theta)
        return sideways_mm / self.bench.live_view_grid.mm_per_px, self.radius_mm * (1.0 - math.cos(theta))

    def on_frame(self) -> None:
        self._axis.on_frame()
        shift_px, away_mm = self.offsets(self._axis.shown)
        # The subject farther away: the plane of focus lies that much nearer in it.
        self.focus_shift_mm = -away_mm
        limit = float(self.bench.config.motion_margin_px)
        shift_px = max(-limit, min(limit, shift_px))
        self.bench.subject_offset_px = self.bench._drift_offset_px = (shift_px, 0.0)

    def move(self, amount: float, speed: float | None = None) -> float:
        self.bench.link.check()
        after = self._axis.actual + self.loss.made(float(amount))
        if abs(self.offsets(after)[0]) > self.bench.config.motion_margin_px:
            raise MotionError(f"{self.name}: at {after:g}° the subject would leave the bench's drawn area "
                              f"(its motion margin is {self.bench.config.motion_margin_px} px); use a smaller radius.")
        self._axis.go(after - self._axis.actual)
        self._reported_deg += float(amount)
        return self._reported_deg

    def position(self) -> float:
        return self._reported_deg

    def status(self) -> StageStatus:
        return StageStatus(False, self._reported_deg)

    def stop(self) -> None:
        pass

    def home(self) -> float:
        self._reported_deg = 0.0
        return 0.0

    def close(self) -> None:
        if self in self.bench.stages:
            self.bench.stages.remove(self)
