"""How a catalogued lens focuses close: its effective focal length and hiatus at each
magnification, from the maker's published figures.

A real macro lens is not a thin lens of its nominal focal length. It is taken here as a
thick lens: the subject lies s in front of the front principal plane H, the sensor v
behind the rear principal plane H', and H' lies the hiatus h behind H, so

    sensor-to-subject distance  D = s + h + v,   s = f·(1 + 1/m),   v = f·(1 + m).

Internal-focusing designs shorten f as they focus close (an RF 100 Macro is about 60 mm
at 1.4×), and a lens's principal planes are rarely where its glass is.

**At the closest focus** the maker publishes D (the minimum focus distance, from the
sensor plane), m (the maximum magnification) and often the working distance W (front of
the lens to the subject). Two of them fix one unknown, so a second unknown needs one
assumption; the one made here is that the front principal plane lies at the front of the
lens, so that the distance from the lens is the working distance (s = W). Then

    f_close = W·m/(1 + m),        h_close = D − W − f_close·(1 + m)

(for the MP-E 65 at 5×: W = 41 mm, D = 313 mm → f = 34.2 mm, h = 67 mm). Where the
maker publishes no working distance the hiatus is taken as zero and D alone gives
f_close = D·m/(1 + m)² (the thin lens that reaches m at D).

**Between infinity and the closest focus** (a lens that focuses to infinity) f moves in
proportion to the magnification from the nominal focal length to f_close; with a
published working distance the front of the lens stays L = D − W from the sensor (an
internal-focus lens keeps its length), so h(m) = L − f(m)·(1 + m) and the distance from the
lens is the working distance at every magnification.

**A macro-only lens** (1–5×) is given at its two ends when the maker publishes both;
f and h are interpolated in m between them (with one end, they are those of the closest
focus).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FocusPoint", "FocusState", "close_focus_optics", "focus_state", "magnification_at"]

_SCAN_STEPS = 400


@dataclass(frozen=True)
class FocusPoint:
    """A maker's published focus: magnification, sensor-to-subject distance (mm) and the
    working distance, front of the lens to the subject (mm, None when not published)."""

    magnification: float
    distance_from_sensor_mm: float
    working_distance_mm: float | None = None


@dataclass(frozen=True)
class FocusState:
    """The lens at one magnification: effective focal length and hiatus (mm)."""

    magnification: float
    focal_length_mm: float
    hiatus_mm: float

    @property
    def subject_distance_mm(self) -> float:
        """From the front principal plane (the front of the lens when the maker's
        working distance is known)."""
        return self.focal_length_mm * (1.0 + 1.0 / self.magnification)

    @property
    def distance_from_sensor_mm(self) -> float:
        m, f = self.magnification, self.focal_length_mm
        return f * (1.0 + 1.0 / m) + self.hiatus_mm + f * (1.0 + m)


def close_focus_optics(point: FocusPoint) -> tuple[float, float]:
    """(f, hiatus) of a lens at a published focus (see the module docstring)."""
    m, d, w = point.magnification, point.distance_from_sensor_mm, point.working_distance_mm
    if w is None:
        return d * m / (1.0 + m) ** 2, 0.0
    focal = w * m / (1.0 + m)
    return focal, d - w - focal * (1.0 + m)


def focus_state(magnification: float, *, nominal_focal_mm: float, closest: FocusPoint,
                farthest: FocusPoint | None = None) -> FocusState:
    """The lens at ``magnification``: ``closest`` is the published focus at the maximum
    magnification; ``farthest`` the one at the minimum magnification of a macro-only
    lens (None for a lens that focuses to infinity, whose far end is the nominal focal
    length at m = 0)."""
    m_close = closest.magnification
    f_close, h_close = close_focus_optics(closest)
    actual = max(magnification, 1e-12)
    m = min(actual, m_close)  # the optics stop changing at the closest focus
    if farthest is not None:
        f_far, h_far = close_focus_optics(farthest)
        m_far = farthest.magnification
        t = 0.0 if m_close <= m_far else (max(m, m_far) - m_far) / (m_close - m_far)
        return FocusState(actual, f_far + (f_close - f_far) * t, h_far + (h_close - h_far) * t)
    focal = nominal_focal_mm + (f_close - nominal_focal_mm) * m / m_close
    if closest.working_distance_mm is None:
        return FocusState(actual, focal, 0.0)
    front = closest.distance_from_sensor_mm - closest.working_distance_mm
    return FocusState(actual, focal, front - focal * (1.0 + m))


def magnification_at(distance_mm: float, *, from_lens: bool, low: float, high: float,
                     state: Callable[[float], FocusState]) -> FocusState:
    """The focus state whose distance (from the sensor, or from the lens when
    ``from_lens``) is ``distance_mm``, for magnifications in [low, high]; ``state(m)``
    gives the lens at m. The distance need not be monotone in m (a macro-only lens moves
    away as it magnifies): the range is scanned and the first crossing from the high
    end bisected. A distance the lens cannot reach gives the nearer end."""
    def distance(m: float) -> float:
        s = state(m)
        return s.subject_distance_mm if from_lens else s.distance_from_sensor_mm

    low = max(low, 1e-9)
    # Evenly in log m: from the close end down to a far focus many decades away.
    ratio = (low / high) ** (1.0 / _SCAN_STEPS)
    grid = [high * ratio**i for i in range(_SCAN_STEPS + 1)]
    errors = [distance(m) - distance_mm for m in grid]
    for (m_a, e_a), (m_b, e_b) in zip(zip(grid, errors, strict=True), zip(grid[1:], errors[1:], strict=True), strict=False):
        if e_a == 0:
            return state(m_a)
        if (e_a < 0) != (e_b < 0):
            for _ in range(100):
                middle = 0.5 * (m_a + m_b)
                e_mid = distance(middle) - distance_mm
                if (e_mid < 0) == (e_a < 0):
                    m_a, e_a = middle, e_mid
                else:
                    m_b = middle
            return state(0.5 * (m_a + m_b))
    # Beyond the range scanned: the end whose distance is nearest the one asked for.
    return state(min(grid, key=lambda m: abs(distance(m) - distance_mm)))
