#!/usr/bin/env python3
"""How true is the focus verdict? Measured on real photographs defocused by a known disc.

The four crops of the MIT focus stacks in tests/data are defocused by a uniform disc of
known diameter (what a lens does), their contrast scaled, sensor noise added
(``focuslock.testing.synthetic.degrade``), and run through the live ``FocusEngine`` as live
view would deliver them: still frames (the lock calibrates on them), then a ramp from 0
to 2.5 CoC (CoC 2 px, or ``--coc-px``). Reported, per noise level (sd 1, 3, 8 grey levels: roughly ISO
100, 1600, 6400 on a live view) and contrast (1, 0.5, 0.2):

* rank correlation (Spearman) of each focus measure with the true blur — the measures of
  ``focus/measure.py`` (higher = sharper, so a good one correlates at −1) and the
  verdict's blur estimate (+1);
* the blur estimate's error against the truth (median |error| over the ramp up to 2 CoC)
  and the blur where SOFT first appeared (in CoC);
* the share of the ramp's frames read UNCERTAIN;
* with ``--jpeg``, the same after a JPEG round trip at each quality (as live view and
  video codecs deliver frames).

With ``--tilted``: a box deeper than the depth of field instead — each crop on a plane
tilted away from the lens (``synthetic.TiltedPlane``), the box 1.5 and 3 times as deep
as the DoF, locked with the plane of focus through its middle, then racked until its
right half leaves the DoF; reported against the blur the softest half has gained, with
the box read in parts (as the lock does) and read whole only (as it did before).

With ``--coverage``: how often the true blur lies within 1 and 2 of the estimate's sd,
per crop, noise and JPEG quality; with ``--aberrations``: where SOFT first comes when the
lens's blur is a rimmed disc, a soft-edged one or colour-fringed (``synthetic.degrade``).
``--crops`` may name ``grass``, the grass-like texture made from the barcode.

Usage: ``python scripts/focus_truth.py [--jpeg 90,50] [--markdown] [--tilted | --coverage | --aberrations]``; the
tables in docs/FOCUS-TRUTH.md come from ``--markdown --jpeg 90,50`` and ``--markdown --tilted``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

from focuslock.focus.engine import FocusEngine, FocusSettings
from focuslock.focus.lock import LockSettings
from focuslock.focus.measure import MEASURES, measure_roi
from focuslock.focus.parts import FeatureReference
from focuslock.testing.synthetic import TiltedPlane, degrade, fine_texture

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "focus-stacks"
CROPS = ("text_sw1", "barcode", "header_pins", "switch_corner")
ROI = (100, 75, 200, 150)
COC_PX = 2.0
STILL_FRAMES = 8
RAMP_STEPS = 25
NOISE_SDS = (1.0, 3.0, 8.0)
CONTRASTS = (1.0, 0.5, 0.2)


def spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if np.std(ra) == 0 or np.std(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _jpeg(rgb: np.ndarray, quality: int | None) -> np.ndarray:
    if quality is None:
        return rgb
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def load_crop(crop: str) -> np.ndarray:
    """One of the crops, or "grass": the grass-like fine texture made from the barcode."""
    if crop == "grass":
        return fine_texture(load_crop("barcode"))
    return cv2.cvtColor(cv2.imread(str(DATA / f"{crop}.jpg")), cv2.COLOR_BGR2RGB)


def run_case(crop: str, noise_sd: float, contrast: float, quality: int | None = None, coc_px: float = COC_PX,
             profile: str = "disc", chromatic_px: float = 0.0) -> dict:
    rgb = load_crop(crop)
    blurs = [0.0] * (STILL_FRAMES + 1) + [2.5 * coc_px * (i + 1) / RAMP_STEPS for i in range(RAMP_STEPS)]
    engine = FocusEngine()
    settings = FocusSettings(lock=LockSettings(coc_px=coc_px)).follow(ROI)
    x, y, w, h = ROI
    rows = []
    for index, blur in enumerate(blurs):
        frame = _jpeg(degrade(rgb, blur, noise_sd, contrast=contrast, seed=index, profile=profile,
                              chromatic_px=chromatic_px), quality)
        if index == 1:
            settings = settings.with_lock()
        result = engine.process(frame, settings)
        if index == 0:
            continue
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w]
        scores = {m: measure_roi(grey, m, noise_sigma=engine.noise.sigma).score for m in MEASURES}
        rows.append((blur, result.lock, scores))
    ramp = rows[STILL_FRAMES:]
    true = [b for b, _, _ in ramp]
    estimates = [lock.blur_px for _, lock, _ in ramp]
    states = [lock.state.value for _, lock, _ in ramp]
    first_soft = next((b for b, s in zip(true, states, strict=True) if s == "soft"), None)
    errors = [abs(e - b) for b, e, s in zip(true, estimates, states, strict=True)
              if b <= 2 * coc_px and e is not None and s != "uncertain"]
    # How often the truth lies within 1 and 2 of the estimate's own sd (up to 2 CoC).
    z = [abs(lock.blur_px - b) / lock.blur_sd_px for b, (_, lock, _) in zip(true, ramp, strict=True)
         if b <= 2 * coc_px and lock.blur_px is not None and lock.blur_sd_px and np.isfinite(lock.blur_sd_px)]
    return {
        "crop": crop, "noise_sd": noise_sd, "contrast": contrast, "jpeg": quality,
        "rho": {m: spearman(true, [sc[m] for _, _, sc in ramp]) for m in MEASURES},
        "rho_blur": spearman(true, estimates),
        "median_abs_error_px": statistics.median(errors) if errors else float("nan"),
        "first_soft_coc": None if first_soft is None else first_soft / coc_px,
        "uncertain_share": states.count("uncertain") / len(states),
        "sharp_beyond_coc": sum(1 for b, s in zip(true, states, strict=True) if b > coc_px and s == "sharp"),
        "lock_state": rows[0][1].state.value,
        "within_1sd": sum(v <= 1 for v in z) / len(z) if z else float("nan"),
        "within_2sd": sum(v <= 2 for v in z) / len(z) if z else float("nan"),
        "median_error_px": statistics.median(e - b for b, e in zip(true, estimates, strict=True) if b <= 2 * coc_px and e is not None)
        if any(e is not None for e in estimates) else float("nan"),
        # Every frame up to 2 CoC, UNCERTAIN or not (the coverage table's figure).
        "median_abs_error_all_px": statistics.median(abs(e - b) for b, e in zip(true, estimates, strict=True)
                                                     if b <= 2 * coc_px and e is not None)
        if any(e is not None for e in estimates) else float("nan"),
    }


def _fmt(value, digits=2) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def table(cases: list[dict], markdown: bool) -> list[str]:
    head = ["crop", "noise sd", "contrast", "jpeg", *(f"ρ {m}" for m in MEASURES), "ρ blur", "|err| px",
            "SOFT at CoC", "uncertain", "SHARP>CoC"]
    lines = []
    if markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    else:
        lines.append("  ".join(head))
    for c in cases:
        cells = [c["crop"], f"{c['noise_sd']:g}", f"{c['contrast']:g}", str(c["jpeg"] or "—"),
                 *(_fmt(c["rho"][m]) for m in MEASURES), _fmt(c["rho_blur"], 3), _fmt(c["median_abs_error_px"], 3),
                 _fmt(c["first_soft_coc"]), f"{c['uncertain_share'] * 100:.0f}%", str(c["sharp_beyond_coc"])]
        lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells))
    return lines


def coverage_table(crops: list[str], qualities: list[int | None], markdown: bool) -> list[str]:
    """How sure: the true blur within 1 and 2 of the estimate's sd, per crop, noise and JPEG."""
    head = ["crop", "noise sd", "jpeg", "within 1 sd", "within 2 sd", "median error px", "median |error| px"]
    lines = (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] if markdown else ["  ".join(head)])
    for crop in crops:
        for quality in qualities:
            for noise_sd in NOISE_SDS:
                c = run_case(crop, noise_sd, 1.0, quality)
                cells = [crop, f"{noise_sd:g}", str(quality or "—"), f"{c['within_1sd'] * 100:.0f}%",
                         f"{c['within_2sd'] * 100:.0f}%", f"{c['median_error_px']:+.3f}", f"{c['median_abs_error_all_px']:.3f}"]
                lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells))
    return lines


ABERRATIONS = (("disc", 0.0), ("rim", 0.0), ("soft", 0.0), ("disc", 0.5))


def aberration_table(crops: list[str], markdown: bool) -> list[str]:
    """Where SOFT first comes (in CoC) when the lens's blur is no uniform disc: a rimmed
    disc, a soft-edged one, colour fringes (red and blue focused ½ CoC either side)."""
    names = {("disc", 0.0): "disc", ("rim", 0.0): "rimmed disc", ("soft", 0.0): "soft-edged disc",
             ("disc", 0.5): "disc + colour (½ CoC)"}
    head = ["crop", "noise sd", *(f"SOFT at CoC: {names[a]}" for a in ABERRATIONS), "SHARP>CoC"]
    lines = (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] if markdown else ["  ".join(head)])
    for crop in crops:
        for noise_sd in (1.0, 3.0):
            cases = [run_case(crop, noise_sd, 1.0, profile=p, chromatic_px=k * COC_PX) for p, k in ABERRATIONS]
            cells = [crop, f"{noise_sd:g}", *(_fmt(c["first_soft_coc"]) for c in cases),
                     str(sum(c["sharp_beyond_coc"] for c in cases))]
            lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells))
    return lines


TILTED_DEPTHS_DOF = (1.5, 3.0)


def run_tilted(plane: TiltedPlane, crop: str, noise_sd: float, depth_dof: float, parts: bool) -> dict:
    rack = plane.rack(ROI, COC_PX, depth_dof, noise_sd, STILL_FRAMES)
    size_parts = FeatureReference.size_parts
    if not parts:
        # Read the box whole only, as the lock did before parts (a measurement switch,
        # not a user setting).
        FeatureReference.size_parts = lambda self, *_args, **_kwargs: None
    try:
        engine = FocusEngine()
        settings = FocusSettings(lock=LockSettings(coc_px=COC_PX)).follow(ROI)
        states = []
        for index, frame in enumerate(rack.frames):
            if index == 1:
                settings = settings.with_lock()
            result = engine.process(frame, settings)
            if index:
                states.append(result.state)
    finally:
        FeatureReference.size_parts = size_parts
    truths = [rack.gained_coc(p) for p in rack.planes_px[1:]]

    def first(state):
        return next((t for t, s in zip(truths, states, strict=True) if s == state), None)

    return {"crop": crop, "noise_sd": noise_sd, "depth_dof": depth_dof, "parts": parts,
            "first_softening_coc": first("softening"), "first_soft_coc": first("soft"),
            "sharp_beyond_coc": sum(1 for t, s in zip(truths, states, strict=True) if s == "sharp" and t >= 1.0),
            "sharp_lock": states[0] == "sharp"}


def tilted_table(crops: list[str], markdown: bool) -> list[str]:
    head = ["crop", "noise sd", "box depth (DoF)", "SHARP at lock", "SOFTENING from", "SOFT from", "SHARP ≥ 1 CoC",
            "whole only: SOFT from", "whole only: SHARP ≥ 1 CoC"]
    lines = (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] if markdown else ["  ".join(head)])
    for crop in crops:
        plane = TiltedPlane(cv2.cvtColor(cv2.imread(str(DATA / f"{crop}.jpg")), cv2.COLOR_BGR2RGB),
                            max_blur_px=max(TILTED_DEPTHS_DOF) * COC_PX * 1.5 + 1.0)
        for noise_sd in NOISE_SDS:
            for depth in TILTED_DEPTHS_DOF:
                with_parts = run_tilted(plane, crop, noise_sd, depth, True)
                whole = run_tilted(plane, crop, noise_sd, depth, False)
                cells = [crop, f"{noise_sd:g}", f"{depth:g}", "yes" if with_parts["sharp_lock"] else "no",
                         _fmt(with_parts["first_softening_coc"]), _fmt(with_parts["first_soft_coc"]),
                         str(with_parts["sharp_beyond_coc"]), _fmt(whole["first_soft_coc"]), str(whole["sharp_beyond_coc"])]
                lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jpeg", default="", help="also run after a JPEG round trip at these qualities, e.g. 90,50")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--crops", default=",".join(CROPS))
    parser.add_argument("--coc-px", type=float, default=COC_PX, help=f"the CoC in pixels (default {COC_PX:g})")
    parser.add_argument("--tilted", action="store_true", help="a box deeper than the depth of field (see above)")
    parser.add_argument("--coverage", action="store_true",
                        help="how often the truth lies within 1 and 2 sd of the estimate (uncompressed and --jpeg)")
    parser.add_argument("--aberrations", action="store_true", help="rimmed, soft-edged and colour-fringed blur")
    args = parser.parse_args(argv)
    crops = [c for c in args.crops.split(",") if c]
    if args.coverage:
        qualities: list[int | None] = [None, *(int(q) for q in args.jpeg.split(",") if q)]
        print("\n".join(coverage_table(crops, qualities, args.markdown)))
        return 0
    if args.aberrations:
        print("\n".join(aberration_table(crops, args.markdown)))
        return 0
    if args.tilted:
        print("\n".join(tilted_table(crops, args.markdown)))
        return 0
    cases = [run_case(crop, sd, contrast, coc_px=args.coc_px) for crop in crops for sd in NOISE_SDS for contrast in CONTRASTS]
    print("\n".join(table(cases, args.markdown)))
    for quality in [int(q) for q in args.jpeg.split(",") if q]:
        print()
        jpeg_cases = [run_case(crop, sd, 1.0, quality, coc_px=args.coc_px) for crop in crops for sd in NOISE_SDS]
        print("\n".join(table(jpeg_cases, args.markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
