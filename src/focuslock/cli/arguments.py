"""Argument types shared by the commands (each refuses a value with the sentence argparse
prints under the usage line, exit 2, before any work), and the reading of options
several commands share."""

from __future__ import annotations

import argparse
import math

__all__ = ["FEATURE_HELP", "MAX_FPS", "MAX_SIZE_PX", "MIN_FPS", "feature", "feature_choices", "finite_float", "frame_rate",
           "lock_coc_px", "positive_float", "positive_int", "sensor_of", "sensor_width_mm", "size"]

# The simulated bench's limits: 8K live view, 0.1–240 frames a second.
MAX_SIZE_PX = (7680, 4320)
MIN_FPS, MAX_FPS = 0.1, 240.0


def size(text: str) -> tuple[int, int]:
    """A live-view size ``WxH`` within what the simulated bench renders."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1024x680.") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"{text} is too small for live view.")
    if width > MAX_SIZE_PX[0] or height > MAX_SIZE_PX[1]:
        raise argparse.ArgumentTypeError(f"{text} is larger than {MAX_SIZE_PX[0]}x{MAX_SIZE_PX[1]}, the largest live view simulated.")
    return width, height


def finite_float(text: str) -> float:
    """Any finite number: "nan" and "inf" are refused here, not printed into results."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number.")
    return value


def positive_float(text: str) -> float:
    """A finite number more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number more than 0.")
    return value


def positive_int(text: str) -> int:
    """A whole number more than 0 (a count of workers)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number.") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a whole number more than 0.")
    return value


def frame_rate(text: str) -> float:
    """A frame rate the simulated bench can run at."""
    value = positive_float(text)
    if not (MIN_FPS <= value <= MAX_FPS):
        raise argparse.ArgumentTypeError(f"{text} frames a second is outside {MIN_FPS:g}–{MAX_FPS:g}.")
    return value


def lock_coc_px(text: str) -> float:
    """A CoC in live-view or take pixels for the lock: positive, and at most MAX_COC_PX
    (said before the run, not by every frame's processing)."""
    from focuslock.focus.lock import MAX_COC_PX

    value = positive_float(text)
    if value > MAX_COC_PX:
        raise argparse.ArgumentTypeError(f"a circle of confusion of {text} px is not plausible; give at most {MAX_COC_PX:g}.")
    return value


def sensor_width_mm(text: str) -> float:
    """A sensor's width: from a phone's (about 5 mm) to large format's (254 mm) and some."""
    value = positive_float(text)
    if not 1.0 <= value <= 1000.0:
        raise argparse.ArgumentTypeError(f"a sensor {text} mm wide is not a camera's; give its width in mm (1 to 1000).")
    return value


def add_picture_coc_options(parser: argparse.ArgumentParser, pixels: str) -> None:
    """The CoC of a command that judges whole pictures (``watch``, ``recipe save``): in
    ``pixels`` ("the pictures'", "the reference's") or through the optics."""
    coc = parser.add_argument_group("circle of confusion (default: the picture's diagonal / 1500)")
    coc.add_argument("--coc-px", type=positive_float, help=f"in {pixels} pixels")
    coc.add_argument("--coc-um", type=positive_float, help="in µm on the sensor (needs --camera or --sensor-width-mm)")
    coc.add_argument("--camera", help="the body, from the catalog (its sensor and CoC)")
    coc.add_argument("--sensor-width-mm", type=sensor_width_mm, help="the sensor's width, when the body is not in the catalog")


# What --roi takes wherever a feature is chosen (live, analyze, watch, mark set, recipe save, calibrate):
# one parser for all (focus/feature_choice.py), one minimum size (core/box.py MIN_FEATURE_PX).
FEATURE_HELP = ("X,Y,W,H in pixels, center:WxH (a box of that size centred in the frame) or auto (the most detailed "
                "place near the centre)")


def feature(text: str) -> str:
    """A feature as ``--roi`` names it: ``X,Y,W,H``, ``center:WxH`` or ``auto``. Kept as
    text here and read by :func:`feature_choices` when the command starts, so that a box
    too small or outside the picture is the command's one sentence (exit 1), not a usage error."""
    return text.strip()


def feature_choices(texts):
    """The ``--roi`` values as :class:`focuslock.focus.feature_choice.FeatureChoice` (a
    :class:`~focuslock.core.box.BoxError`, one sentence, for one that is not a feature)."""
    from focuslock.focus.feature_choice import parse_feature_choice

    return [parse_feature_choice(text) for text in texts]


def sensor_of(args: argparse.Namespace):
    """The sensor behind a command's CoC options (--coc-px, --coc-um, --camera,
    --sensor-width-mm), checked: a :class:`focuslock.optics.lens_setup.SensorSetup` or None."""
    from focuslock.optics.lens_setup import take_sensor

    return take_sensor(coc_px=args.coc_px, coc_um=args.coc_um, camera=args.camera, sensor_width_mm=args.sensor_width_mm)


def add_hub_options(group) -> None:
    """``--hub URL`` and ``--station NAME``: a station that also sends its session to the studio's hub."""
    group.add_argument("--hub", metavar="URL", help="also send each shot to the studio's hub (PostgreSQL, "
                                                    "postgresql://USER@HOST/DB); the session's log stays the truth and "
                                                    "shooting goes on when the hub is away")
    group.add_argument("--station", metavar="NAME", help="this station's name on the hub (default: an id kept in the "
                                                         "config folder, named after the machine)")


def hub_link(args: argparse.Namespace):
    """The ``HubLink`` of ``--hub`` / ``--station`` (None without ``--hub``)."""
    from focuslock.cli.common import UserError

    if getattr(args, "hub", None) is None:
        if getattr(args, "station", None) is not None:
            raise UserError("--station names this station on a hub: give --hub too.")
        return None
    if getattr(args, "session", None) is None:
        raise UserError("--hub sends a session's shots to the studio's hub: give --session (and --recipe) too.")
    from focuslock.hub.sync import HubLink

    return HubLink(args.hub, args.station)
