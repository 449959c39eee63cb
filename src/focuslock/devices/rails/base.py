"""The protocol of a rail or a turntable, its errors, and the bounds every move is held to.

A *stage* moves one axis: a rail in µm along the optical axis (positive = the plane of
focus goes farther into the subject), a turntable in degrees. Every backend reports
where it believes it is; whether the picture agrees is for the workflow to measure
(:mod:`focuslock.workflows.closed_loop`) — a rail that "moved" may not have.

:class:`BoundedStage` wraps a backend with its profile's limits: a move beyond the
travel, longer than the longest move allowed or faster than the top speed is refused
before anything is sent, in one sentence. The travel is in the positions the controller
reports (its zero: where it was powered on or zeroed), asked of it before every move —
never counted from where this run started, so that runs one after another cannot walk
past the end.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from focuslock.core.errors import FocuslockError

__all__ = ["Axis", "BoundedStage", "check_move_length",
           "Limits", "MotionError", "Stage", "StageAlarm", "StageLimitError", "StageStatus"]

logger = logging.getLogger(__name__)


class MotionError(FocuslockError):
    """A rail or turntable could not do what was asked; one sentence for the user."""


class StageLimitError(MotionError):
    """A move beyond the stage's limits, refused before it was sent (or a limit switch hit)."""


class StageAlarm(MotionError):
    """The controller raised an alarm (a limit switch, a soft limit, a stall): motion stopped."""


class Axis(enum.Enum):
    """What a stage moves: a rail (µm) or a turntable (degrees)."""

    RAIL = "rail"
    TURNTABLE = "turntable"

    @property
    def unit(self) -> str:
        return "µm" if self is Axis.RAIL else "°"


@dataclass(frozen=True)
class StageStatus:
    """What the controller says: idle or moving, and where it believes it is (µm or °)."""

    moving: bool
    position: float
    alarm: str | None = None


@runtime_checkable
class Stage(Protocol):
    """One motorised axis. Positions and moves in the axis's unit (µm or degrees)."""

    name: str
    axis: Axis

    def move(self, amount: float, speed: float | None = None) -> float:
        """Move by ``amount`` (relative) at ``speed`` (unit per second, or the profile's
        top speed) and wait until the controller says it stopped; returns the position
        it reports. Raises :class:`MotionError` (:class:`StageAlarm` for an alarm)."""
        ...

    def position(self) -> float:
        """Where the controller believes it is."""
        ...

    def status(self) -> StageStatus:
        """Idle or moving, the position, an alarm."""
        ...

    def stop(self) -> None:
        """Stop at once (a feed hold; the position stays known)."""
        ...

    def home(self) -> float:
        """Call the present position zero (a rail without limit switches has no home
        to seek); returns it."""
        ...

    def close(self) -> None:
        """Let go of the port or the connection."""
        ...


@dataclass(frozen=True)
class Limits:
    """A stage's bounds: travel (both ends, in the positions the controller reports), the
    longest one move and the top speed (unit per second)."""

    travel_min: float
    travel_max: float
    max_move: float
    max_speed: float

    def __post_init__(self) -> None:
        values = (self.travel_min, self.travel_max, self.max_move, self.max_speed)
        if not all(math.isfinite(v) for v in values) or self.travel_min > 0 or self.travel_max < 0:
            raise MotionError("A stage's travel must run from zero or below to zero or above, in finite numbers.")
        if self.max_move <= 0 or self.max_speed <= 0:
            raise MotionError("A stage's longest move and top speed must be positive.")


def check_move_length(name: str, axis: Axis, limits: Limits, amount: float) -> None:
    """Raise :class:`StageLimitError` for a move longer than ``limits`` allow (asked before
    the port is opened, too: a too-long move is refused whether or not the stage is there)."""
    unit = axis.unit
    if not math.isfinite(amount):
        raise StageLimitError(f"{name}: a move must be a finite number of {unit}.")
    if abs(amount) > limits.max_move + 1e-9:
        raise StageLimitError(f"{name}: a move of {amount:g} {unit} is longer than the longest allowed "
                              f"({limits.max_move:g} {unit}); nothing was sent.")


class BoundedStage:
    """A backend held to its :class:`Limits`; refuses a move before sending it. Also
    takes up backlash: every move that ends against ``approach`` (+1 or −1: the side
    moves should arrive from) overshoots by ``backlash`` and comes back, so that each
    position is reached from the same side."""

    def __init__(self, stage: Stage, limits: Limits, *, backlash: float = 0.0, approach: int = 1) -> None:
        if approach not in (1, -1):
            raise MotionError("A stage's approach direction is +1 or -1.")
        self.inner = stage
        self.limits = limits
        self.backlash = max(0.0, float(backlash))
        self.approach = approach
        self.name = stage.name
        self.axis = stage.axis
        self.opened_at = stage.position()  # asked of the controller now: never assumed 0

    def check(self, amount: float, speed: float | None = None) -> None:
        """Raise :class:`StageLimitError` when ``amount`` at ``speed`` leaves the bounds."""
        unit, lim = self.axis.unit, self.limits
        check_move_length(self.name, self.axis, lim, amount)
        if speed is not None and not 0 < speed <= lim.max_speed:
            raise StageLimitError(f"{self.name}: a speed of {speed:g} {unit}/s is outside 0 to {lim.max_speed:g} {unit}/s; "
                                  "nothing was sent.")
        start = self.inner.position()
        low, high = self.reach(start, [amount])
        if not self._allowed(start, low, high, amount):
            outside = "" if lim.travel_min - 1e-9 <= start <= lim.travel_max + 1e-9 else (
                " (it already stands outside it: move it back towards it first)")
            raise StageLimitError(f"{self.name} reports {start:+g} {unit}: a move of {amount:+g} {unit} would end at "
                                  f"{start + amount:+g} {unit}, outside its travel ({lim.travel_min:+g} to "
                                  f"{lim.travel_max:+g} {unit}){outside}; nothing was sent.")

    def reach(self, start: float, amounts: list[float]) -> tuple[float, float]:
        """The lowest and highest positions the moves ``amounts`` (relative, in turn, from
        ``start``) pass through, the backlash overshoot included."""
        low = high = position = start
        for amount in amounts:
            position += amount
            against = amount != 0 and (amount > 0) != (self.approach > 0)
            overshoot = self.backlash if against else 0.0
            low = min(low, position - (overshoot if self.approach > 0 else 0.0))
            high = max(high, position + (overshoot if self.approach < 0 else 0.0))
        return low, high

    def _allowed(self, start: float, low: float, high: float, amount: float) -> bool:
        lim = self.limits
        if low >= lim.travel_min - 1e-9 and high <= lim.travel_max + 1e-9:
            return True
        # Outside the travel already: only a move back towards it (not past its other end).
        if start > lim.travel_max and amount < 0:
            return low >= lim.travel_min - 1e-9
        if start < lim.travel_min and amount > 0:
            return high <= lim.travel_max + 1e-9
        return False

    def move(self, amount: float, speed: float | None = None) -> float:
        self.check(amount, speed)
        speed = speed or self.limits.max_speed
        if amount != 0 and (amount > 0) != (self.approach > 0) and self.backlash > 0:
            # Against the approach: go past by the backlash, then come back the approach's way.
            self.inner.move(amount - self.approach * self.backlash, speed)
            return self.inner.move(self.approach * self.backlash, speed)
        return self.inner.move(amount, speed)

    def position(self) -> float:
        return self.inner.position()

    def status(self) -> StageStatus:
        return self.inner.status()

    def stop(self) -> None:
        self.inner.stop()

    def home(self) -> float:
        return self.inner.home()

    def close(self) -> None:
        self.inner.close()
