"""The focus map: which parts of the picture lie within the depth of field where focus is now.

Peaking paints strong edges, whatever their blur: a bold letter a whole CoC out of focus
still peaks, fine texture at best focus may not. The map answers the question peaking
only suggests — is this part within the depth of field? — per tile of the frame, in the
lock's own unit (the CoC) and by the lock's own estimator (:mod:`.defocus`: the
band-energy ratio read through a through-focus curve) and judgement
(:func:`.lock.judge_estimate`), with the one noise model (:mod:`.noise`).

**What a tile's blur is measured against.** A single frame cannot say how sharp a tile
could be (a soft texture and a blurred sharp one look alike), so a tile is judged against
its own sharpest view *that a sweep of focus passed through*:

1. Every frame (every second one above 300 tiles), each tile's fine-band energy (noise
   share taken off, divided by the frame's mean level squared, so that exposure does
   not count) is followed through the present sweep (:mod:`.focus_travel`: one
   direction of travel at a time; :mod:`.tile_sweeps`: each tile's peak and what came
   before and after it).
2. A tile's peak is confirmed when, within one sweep, its energy rose from below the
   level its sharpest view would have blurred by one CoC, peaked, and fell back below it
   — and the views just before and after the peak were within a CoC of it. The peak
   view becomes the tile's reference: a :class:`~.defocus.BlurReference`, as the lock
   builds for its feature (a few per frame: each costs about 1.5 ms). Half the blur of
   the farther neighbouring view bounds how far the peak view itself may lie from best
   focus; every reading is widened by it (the map errs towards the edge of the depth of
   field, never into it). A tile that peaked twice in one sweep (detail at two depths)
   is never confirmed.
3. Each frame the confirmed tiles whose energy moved most since their last reading are
   read against their references and judged as the lock judges its feature: SHARP
   (< ½ CoC) → in focus, SOFTENING → at the edge of the depth of field, SOFT (≥ CoC) →
   out of it; UNCERTAIN → cannot tell. One read in focus or at the edge whose energy
   has fallen since is shown "cannot tell" until read again.

Tiles never confirmed (plain, or focus has not yet swept through them) are never in
focus: "cannot tell" is said, never assumed away. The map assumes a still camera and
subject: a new framing, live-view zoom or CoC starts it again (the caller's job).
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, replace

import numpy as np

from focuslock.focus.defocus import BlurEstimate, BlurReference, band_energies, defocus, fine_energy_sd, view_margin_px
from focuslock.focus.focus_travel import FocusTravel, Travel
from focuslock.focus.lock import FocusState, LockSettings, judge_estimate
from focuslock.focus.noise import first_difference_energy, noise_sigma_sd
from focuslock.focus.tile_sweeps import TileSweeps

__all__ = ["FocusMap", "FocusMapResult", "TileState", "default_tile_px"]

# A tile's peak counts only where its sharpest view holds this many standard deviations
# of its noise in the fine band, and this much energy (grey levels²): as stack-check's
# coverage asks of a tile it judges (a JPEG's flat areas hold a little of their own
# rounding, which the noise model could take for detail).
_DETAIL_SIGMAS = 12.0
_MIN_FINE_ENERGY = 2.0
# A tile already confirmed takes a later sweep's peak only when this much sharper (fine
# energy), beyond its noise: a reference costs about 1.5 ms, and the same peak seen
# again differs only by noise and where the frames fell.
_SHARPER = 0.05
# A peak counts when the energy fell on both sides below the level of the peak view blurred
# by a CoC by this share of the peak's height above that level.
_PAST_COC_SHARE = 0.25
# White noise of σ gives 4σ² in the fine band (noise.first_difference_energy).
_FINE_NOISE_GAIN = 4.0
# Frames of no travel kept before they are committed to the sweep as still frames.
_MAX_PENDING_FRAMES = 90
# About this many tiles across the frame's larger side, never smaller than 64 px.
_TILES_ACROSS = 30
_MIN_TILE_PX = 64
# Confirmed tiles read per frame at most (each reading costs about 30 µs): those whose
# fine energy moved most since their last reading, by more than _READ_AGAIN_SDS of its
# noise (a tile that did not change keeps its reading: no work on a still scene).
_READINGS_PER_FRAME = 48
_READ_AGAIN_SDS = 2.0
# A tile's log energy moves this much from frame to frame at a still focus (focus_travel).
_MIN_LOG_SD = 0.02
# Focus counts as standing still after this many followed frames without travel.
_STILL_FRAMES = 3
# Up to this many tiles the sweep is followed on every frame (1280×720 has 190 tiles of
# 64 px); 1080p (464) follows it every second frame and builds references between: its
# frame's ~3.5 ms of tile energies and a reference's ~1.5 ms are not paid on one frame.
_TILES_TRACKED_EVERY_FRAME = 300


class TileState(enum.IntEnum):
    """What the map says of one tile (uint8 codes in :attr:`FocusMapResult.states`)."""

    PLAIN = 0  # no detail above the noise: nothing to judge
    NOT_SEEN = 1  # detail, but no sweep has passed through its best focus yet
    CANNOT_TELL = 2  # read, but the reading cannot tell (too little detail for the noise)
    IN_FOCUS = 3  # less than ½ CoC from its sharpest (the lock's SHARP)
    EDGE = 4  # ½ CoC to the CoC (SOFTENING)
    OUT = 5  # the CoC or more (SOFT)


_FROM_VERDICT = {FocusState.SHARP: TileState.IN_FOCUS, FocusState.SOFTENING: TileState.EDGE,
                 FocusState.SOFT: TileState.OUT}


def default_tile_px(frame_shape: tuple[int, ...]) -> int:
    """Tile size for a frame: 64 px up to 1920 wide, larger beyond (the work per frame
    grows with the number of tiles)."""
    return max(_MIN_TILE_PX, int(math.ceil(max(frame_shape[:2]) / _TILES_ACROSS / 16.0)) * 16)


@dataclass(frozen=True, eq=False)
class FocusMapResult:
    """One frame's map: ``boxes_px`` (n, 4) tiles as x, y, w, h in frame pixels,
    ``states`` (n,) :class:`TileState` codes, ``blur_coc`` (n,) the last reading's blur in
    CoC (NaN where none), ``frame_shape`` (h, w) and ``coc_px`` it was made with, and how
    many sweeps of focus it has seen."""

    boxes_px: np.ndarray
    states: np.ndarray
    blur_coc: np.ndarray
    frame_shape: tuple[int, int]
    coc_px: float
    sweeps: int

    def count(self, state: TileState) -> int:
        return int(np.count_nonzero(self.states == state))


class FocusMap:
    """The map of one still framing at one CoC. One thread owns it; :meth:`observe` every
    frame (grey, the noise model's σ, the drive's count when the frame carries one).

    ``readings_per_frame``: confirmed tiles read at most per frame (those whose detail
    changed most since their last reading; default :data:`_READINGS_PER_FRAME`);
    ``track_every``: the sweep is followed on every this many frames (default: every
    frame up to :data:`_TILES_TRACKED_EVERY_FRAME` tiles, every second above, where the
    frames between build the references);
    ``build_budget_ms``: the time a frame may spend building references (at least one is
    built when any is due; None: all that are due, as an offline pass can afford, and
    the map then depends on nothing but the frames); ``still_build_budget_ms``: the same
    once focus has stood still for a round of readings (nothing else is read then, and
    the user is waiting for the map; default: ``build_budget_ms``)."""

    def __init__(self, frame_shape: tuple[int, ...], coc_px: float, tile_px: int | None = None,
                 readings_per_frame: int | None = None, build_budget_ms: float | None = 2.0,
                 track_every: int | None = None, still_build_budget_ms: float | None = None) -> None:
        if not (coc_px > 0 and math.isfinite(coc_px)):
            raise ValueError(f"The focus map needs a positive CoC in pixels, got {coc_px}.")
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self.coc_px = float(coc_px)
        self.tile_px = int(tile_px or default_tile_px(frame_shape))
        self.margin_px = view_margin_px(self.coc_px)
        self.build_budget_ms = build_budget_ms
        self.still_build_budget_ms = build_budget_ms if still_build_budget_ms is None else still_build_budget_ms
        self._lock_settings = LockSettings(coc_px=self.coc_px)
        height, width = self.frame_shape
        t, m = self.tile_px, self.margin_px
        cols, rows = max((width - 2 * m) // t, 0), max((height - 2 * m) // t, 0)
        if not cols or not rows:
            raise ValueError(f"A frame of {width}×{height} px is too small for a focus map of {t} px tiles.")
        x0, y0 = (width - cols * t) // 2, (height - rows * t) // 2
        self.grid = (rows, cols)
        self.boxes_px = np.array([(x0 + c * t, y0 + r * t, t, t) for r in range(rows) for c in range(cols)], np.int32)
        self.boxes_px.setflags(write=False)
        # Slices of each tile and of its view (the tile with the estimator's context), as
        # plain ints: read every frame.
        self._tiles = [(slice(y, y + h), slice(x, x + w)) for x, y, w, h in self.boxes_px.tolist()]
        self._view_slices = [(slice(y - m, y + h + m), slice(x - m, x + w + m)) for x, y, w, h in self.boxes_px.tolist()]
        n = len(self.boxes_px)
        self.readings_per_frame = max(1, int(readings_per_frame or _READINGS_PER_FRAME))
        self.track_every = max(1, int(track_every or (1 if n <= _TILES_TRACKED_EVERY_FRAME else 2)))
        self._travel = FocusTravel()
        self._frames = 0
        # Followed frames in a row without travel; each tile's log energy now, its sd, and
        # at its last reading.
        self._still_tracks = 0
        self._now_log = np.full(n, np.nan)
        self._now_log_sd = np.full(n, np.inf)
        self._read_log = np.full(n, np.nan)
        self._sweep = TileSweeps(n)
        self._at_coc: dict[int, float] = {}  # tile → its present peak's energy blurred by the CoC
        # Confirmed tiles: the energy of the confirmed peak, its reference, and the builds due.
        self._confirmed = np.full(n, -np.inf)
        self._confirmed_at_coc = np.full(n, np.nan)  # its peak view's energy blurred by a CoC
        self._references: list[tuple[BlurReference, bool] | None] = [None] * n
        # tile → (peak view, the energies just before and after the peak, in grey levels²)
        self._due: dict[int, tuple[np.ndarray, float, float]] = {}
        self._residual = np.zeros(n)  # the most blur a reference may have had (px): see _residual_blur_px
        self._detailed = np.zeros(n, bool)
        self._states = np.full(n, TileState.PLAIN, np.uint8)
        self._blur_coc = np.full(n, np.nan, np.float32)

    @property
    def still_frames(self) -> int:
        """Followed frames in a row in which no tile changed beyond its noise (focus
        stood still, :class:`~focuslock.focus.focus_travel.FocusTravel`); 0 right after a change."""
        return self._still_tracks

    @property
    def detailed_tiles(self) -> int:
        """Tiles that have shown fine detail above their noise: the travel test sees focus
        move only where there is detail (fewer than a handful, and every frame is still)."""
        return int(self._detailed.sum())

    # ------------------------------------------------------------------ a frame
    def observe(self, grey: np.ndarray, noise_sigma: float, drive_position_steps: float | None = None) -> FocusMapResult:
        """The map after this frame. The sweep is followed on every ``track_every``-th
        frame; references are built on the others (on every frame when that is 1); a share
        of the confirmed tiles is read on every frame."""
        if grey.shape[:2] != self.frame_shape:
            raise ValueError("The focus map was made for another frame size; make a new one.")
        sigma = max(float(noise_sigma), 1e-3)
        views = self._views(grey)
        tracking = self._frames % self.track_every == 0
        if tracking:
            self._track(grey, views, sigma, drive_position_steps)
        still = self._still_tracks >= _STILL_FRAMES  # nothing moves: the user is looking at the map
        if not tracking or self.track_every == 1 or still:
            self._build_due(views, sigma, self._sweep.last, self.still_build_budget_ms if still else self.build_budget_ms)
        self._read(views, sigma)
        self._frames += 1
        states = np.where(self._detailed & (self._states == TileState.PLAIN), TileState.NOT_SEEN, self._states)
        states = np.where(self._sweep.two_depths, TileState.CANNOT_TELL, states)
        # A tile read in (or at the edge of) the depth of field whose detail has fallen since,
        # beyond its noise, may have left it: it says so only once read again.
        with np.errstate(invalid="ignore"):
            fallen = (self._read_log - self._now_log) / self._now_log_sd > _READ_AGAIN_SDS
        # And one whose detail is at or under what its peak view blurred by a CoC holds cannot be
        # within the CoC, whatever its band ratio says (a codec's floor props the ratio up).
        with np.errstate(invalid="ignore"):
            spent = np.exp(self._now_log) <= self._confirmed_at_coc
        states = np.where((fallen | spent) & np.isin(states, (TileState.IN_FOCUS, TileState.EDGE)), TileState.CANNOT_TELL,
                          states)
        return FocusMapResult(self.boxes_px, states.astype(np.uint8), self._blur_coc.copy(), self.frame_shape,
                              self.coc_px, self._sweep.sweeps)

    def _track(self, grey: np.ndarray, views: list[np.ndarray], sigma: float, drive_position_steps: float | None) -> None:
        """Each tile's energy now, into the present sweep (or a new one where focus turned)."""
        energies, raw, sds, level = self._energies(grey, sigma)
        self._detailed |= (raw >= np.maximum(_DETAIL_SIGMAS * sds, _MIN_FINE_ENERGY))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_energy = np.where(raw > _DETAIL_SIGMAS * sds, np.log(np.maximum(energies, 1e-30)), np.nan)
            log_sd = np.where(raw > 0, sds / np.maximum(raw, 1e-30), np.inf)
        travel = self._travel.step(log_energy, log_sd, drive_position_steps)
        self._still_tracks = self._still_tracks + 1 if travel is Travel.STILL else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            self._now_log = np.where(raw > 0, np.log(np.maximum(energies, 1e-30)), np.nan)
        self._now_log_sd = np.maximum(log_sd, _MIN_LOG_SD)
        if travel is Travel.NEW_SWEEP or self._frames == 0:
            self._sweep.start(energies, sds / level, views, level)
            self._at_coc.clear()
            return
        self._sweep.add(energies, sds / level, views, level)
        if travel is Travel.ONWARD or self._sweep.pending_frames >= _MAX_PENDING_FRAMES:
            for index in self._sweep.commit():
                self._at_coc.pop(index, None)
            self._forget_two_depths()
            self._confirm(sigma, sds / level)

    def _views(self, grey: np.ndarray) -> list[np.ndarray]:
        return [grey[rows, cols] for rows, cols in self._view_slices]

    def _energies(self, grey: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Each tile's fine-band energy with the noise's share taken off (the band the
        estimator reads), its standard deviation, and both divided by the frame's mean
        level squared (a gain scales the band by its square: exposure is not focus)."""
        fine_noise = _FINE_NOISE_GAIN * sigma * sigma
        raw = np.array([first_difference_energy(grey[rows, cols]) for rows, cols in self._tiles]) - fine_noise
        pixels = self.tile_px * self.tile_px
        sds = np.array([fine_energy_sd(e, fine_noise, pixels) for e in raw.tolist()])
        level = max(float(np.mean(grey[::8, ::8])), 1.0) ** 2
        return raw / level, raw, sds, level

    # ------------------------------------------------------------------ sweeps
    def _forget_two_depths(self) -> None:
        """Tiles seen at two depths: whatever was confirmed of them goes (cannot tell)."""
        for index in np.flatnonzero(self._sweep.two_depths & (self._confirmed != np.inf)).tolist():
            self._confirmed[index] = np.inf  # never confirmed again
            self._references[index] = None
            self._due.pop(index, None)
            self._states[index] = TileState.CANNOT_TELL
            self._blur_coc[index] = np.nan

    def _confirm(self, sigma: float, sds: np.ndarray) -> None:
        """Tiles whose present peak the sweep has passed through: queued for a reference.
        ``sds``: the energies' standard deviations now (only tiles fallen clearly below
        their peak on both sides are looked at closer)."""
        sweep = self._sweep
        fallen = sweep.best - 3.0 * sds
        candidates = np.flatnonzero((sweep.min_before < fallen) & (sweep.min_after < fallen)
                                    & np.isfinite(sweep.before_peak) & np.isfinite(sweep.after_peak) & ~sweep.two_depths
                                    # A tile already confirmed again only for a clearly sharper peak.
                                    & (sweep.best > self._confirmed * (1.0 + _SHARPER) + 3.0 * sds))
        fine_noise = _FINE_NOISE_GAIN * sigma * sigma
        for index in candidates.tolist():
            view = sweep.best_views[index]
            if view is None:
                continue
            level = sweep.best_level[index]
            raw_best = sweep.best[index] * level
            if raw_best < max(_DETAIL_SIGMAS * fine_energy_sd(raw_best, fine_noise, self.tile_px**2), _MIN_FINE_ENERGY):
                continue
            if index not in self._at_coc:
                self._at_coc[index] = band_energies(defocus(view, self.coc_px), sigma, self.coc_px,
                                                    margin_px=self.margin_px).fine / level
            at_coc = self._at_coc[index]
            # Fallen well past the CoC's level on both sides, not to it: a faint tile whose
            # energy bottoms out on the codec's and the noise's own floor just under that
            # level cannot tell a CoC from five (an MJPG take read 0.8 CoC at 5 CoC).
            past = at_coc - _PAST_COC_SHARE * (sweep.best[index] - at_coc)
            if (sweep.min_before[index] <= past and sweep.min_after[index] <= past
                    and sweep.before_peak[index] > at_coc and sweep.after_peak[index] > at_coc):
                self._confirmed[index] = sweep.best[index]
                self._confirmed_at_coc[index] = at_coc
                self._due[index] = (view, float(sweep.before_peak[index] * level), float(sweep.after_peak[index] * level))

    # ------------------------------------------------------------------ references and readings
    def _build_due(self, views: list[np.ndarray], sigma: float, energies: np.ndarray, budget_ms: float | None) -> None:
        """References for confirmed peaks, as many as the budget allows: first the tiles
        now nearest their peak (those the depth of field may hold: what the user looks for)."""
        noise_sd = noise_sigma_sd(sigma)
        settings = self._lock_settings
        started = time.perf_counter()
        nearness = np.nan_to_num(energies / np.maximum(self._confirmed, 1e-30), nan=0.0)
        order = sorted(self._due, key=lambda i: -nearness[i])
        for index in order:
            if budget_ms is not None and (time.perf_counter() - started) * 1000.0 >= budget_ms:
                break
            view, before, after = self._due.pop(index)
            reference = BlurReference([view], sigma, self.coc_px, self.margin_px)
            half = settings.softening_fraction * self.coc_px
            resolvable = (reference.predicted_sd(half, sigma, noise_sd) <= settings.resolvable_sd_fraction * self.coc_px
                          and reference.reference.coarse_resolved)
            self._references[index] = (reference, resolvable)
            self._residual[index] = _residual_blur_px(reference, before, after)
            self._read_tile(index, views[index], sigma, noise_sd)

    def _read(self, views: list[np.ndarray], sigma: float) -> None:
        """The confirmed tiles whose detail changed most since their last reading (beyond
        its noise), at most ``readings_per_frame`` of them, read against their references."""
        referenced = np.array([r is not None for r in self._references])
        with np.errstate(invalid="ignore"):
            change = np.abs(self._now_log - self._read_log) / self._now_log_sd
        change = np.where(np.isnan(self._read_log) & np.isfinite(self._now_log), np.inf, change)
        due = np.flatnonzero(referenced & (change > _READ_AGAIN_SDS))
        if not len(due):
            return
        noise_sd = noise_sigma_sd(sigma)
        for index in due[np.argsort(-change[due])][: self.readings_per_frame].tolist():
            self._read_tile(index, views[index], sigma, noise_sd)

    def _read_tile(self, index: int, view: np.ndarray, sigma: float, noise_sd: float) -> None:
        entry = self._references[index]
        assert entry is not None  # only tiles with a reference fall due
        reference, resolvable = entry
        estimate = _with_residual(reference.estimate(view, sigma, noise_sd=noise_sd), self._residual[index])
        state, _ = judge_estimate(estimate, self._lock_settings, resolvable)
        self._states[index] = _FROM_VERDICT.get(state, TileState.CANNOT_TELL)
        self._blur_coc[index] = estimate.blur_px / self.coc_px if math.isfinite(estimate.blur_px) else np.nan
        self._read_log[index] = self._now_log[index]


def _residual_blur_px(reference: BlurReference, before: float, after: float) -> float:
    """The most blur the peak view itself may have had (px). The tile's best focus lies
    between the views seen just before and just after it, nearer the peak view than
    either: at most half the blur that the farther of them shows against it, read off the
    reference's own through-focus curve of fine energy (its ratio curve is the reading's;
    the energies of three views of one sweep compare directly)."""
    curve = np.minimum.accumulate(np.asarray(reference.fine_curve, float))  # a blur never adds detail
    blurs = [float(np.interp(energy, curve[::-1], reference.diameters_px[::-1])) for energy in (before, after)]
    return 0.5 * max(blurs)


def _with_residual(estimate: BlurEstimate, residual_px: float) -> BlurEstimate:
    """The reading as blur from the tile's best focus rather than from its peak view, which
    may itself have been up to ``residual_px`` out (blur discs add by their second moments:
    t² = d² + r², and a view sharper than the reference, d < 0, lies within r of best focus):
    taken at the most it can be, so that the map errs towards the edge of the depth of
    field, never into it."""
    if residual_px <= 0 or estimate.no_detail:
        return estimate

    def widened(blur: float) -> float:
        if not math.isfinite(blur):
            return blur
        return math.sqrt(max(residual_px * residual_px + math.copysign(blur * blur, blur), 0.0))

    return replace(estimate, blur_px=widened(estimate.blur_px), blur_high_px=widened(estimate.blur_high_px))
