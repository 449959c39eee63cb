"""The overlay choices: what the user asks the renderer to draw (:class:`OverlaySettings`),
and those choices as plain values the window remembers and a recipe keeps."""

from __future__ import annotations

from dataclasses import dataclass, replace

from focuslock.core.resources import is_finite_number

__all__ = ["GHOST_MODES", "OVERLAY_CHOICES", "OverlaySettings", "overlay_choices", "parse_aspect", "with_overlay_choices"]

GHOST_MODES = ("off", "blend", "difference", "split", "blink")


def parse_aspect(text: str | None) -> float | None:
    """'4:5', '16:9', '1:1', '2.39' → width / height; None or '' → no guide."""
    if not text:
        return None
    if ":" in text:
        width, _, height = text.partition(":")
        value = float(width) / float(height)
    else:
        value = float(text)
    if not (0.1 < value < 10):
        raise ValueError(f"An aspect ratio of {text} is not one a frame could have.")
    return value


@dataclass(frozen=True)
class OverlaySettings:
    """What the overlay draws over the frame: peaking, guides, the ghost and the read-outs."""

    peaking: bool = True
    grid: bool = False
    centre_mark: bool = False
    aspect_guide: str | None = None  # "4:5", "1:1", "16:9", ...
    safe_areas: bool = False
    ghost_mode: str = "off"
    ghost_opacity: float = 0.5
    loupe_zoom: int = 0  # 0 = off, 2–8
    loupe_at: tuple[int, int] | None = None  # (x, y) under the pointer; None = the feature
    zebras: bool = False
    zebra_level: int = 250
    histogram: str = "off"  # "off" | "luma" | "rgb"
    focus_meter: bool = True
    hud: bool = False  # the consumer draws the HUD with the session's own figures
    path_length: int = 90
    # The size (device pixels) the picture is shown at. When the frame is larger, the
    # overlays are drawn on a copy scaled to fit it: the window never pays for painting
    # pixels the screen cannot show. None: at the frame's own size (recordings).
    display_size_px: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.ghost_mode not in GHOST_MODES:
            raise ValueError(f"Unknown ghost mode {self.ghost_mode!r}; use one of {', '.join(GHOST_MODES)}.")
        if self.loupe_zoom and not 2 <= self.loupe_zoom <= 8:
            raise ValueError(f"The loupe magnifies 2 to 8 times, not {self.loupe_zoom}.")
        if self.histogram not in ("off", "luma", "rgb"):
            raise ValueError("The histogram is off, luma or rgb.")
        if self.display_size_px is not None and not (len(self.display_size_px) == 2
                                                     and all(int(v) >= 16 for v in self.display_size_px)):
            raise ValueError(f"A display of {self.display_size_px} pixels is too small to show a frame.")
        parse_aspect(self.aspect_guide)

    @classmethod
    def everything(cls, **overrides) -> OverlaySettings:
        """Every overlay on (what the speed goal is measured with)."""
        base = dict(grid=True, centre_mark=True, aspect_guide="4:5", safe_areas=True, ghost_mode="blend", loupe_zoom=4,
                    zebras=True, histogram="rgb")
        return cls(**{**base, **overrides})


# The overlay choices a user makes and expects back (the window remembers them; a recipe
# keeps them for its setup): plain values, none of the per-frame state.
OVERLAY_CHOICES = ("peaking", "grid", "centre_mark", "aspect_guide", "safe_areas", "ghost_mode", "ghost_opacity",
                   "zebras", "zebra_level", "histogram", "loupe_zoom", "focus_meter")


def overlay_choices(overlay: OverlaySettings) -> dict:
    """The user's overlay choices as a plain mapping (None values left out)."""
    return {name: getattr(overlay, name) for name in OVERLAY_CHOICES if getattr(overlay, name) is not None}


# What each choice must be when it comes from a file (the window's remembered choices,
# a recipe's [overlay] table): a string is not a switch, a switch is not a number.
_SWITCHES = ("peaking", "grid", "centre_mark", "safe_areas", "zebras", "focus_meter")
_WORDS = ("ghost_mode", "histogram")


def _checked_choice(name: str, value):
    if name in _SWITCHES:
        if not isinstance(value, bool):
            raise ValueError(f"The overlay choice {name} must be true or false, got {value!r}.")
    elif name in _WORDS:
        if not isinstance(value, str):
            raise ValueError(f"The overlay choice {name} must be a word, got {value!r}.")
    elif name == "aspect_guide":
        if value is not None and not isinstance(value, str):
            raise ValueError(f"The aspect guide must be a ratio such as \"4:5\", got {value!r}.")
    elif name == "ghost_opacity":
        if not is_finite_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"The ghost's opacity must be a number from 0 to 1, got {value!r}.")
        value = float(value)
    elif name == "zebra_level":
        if not is_finite_number(value) or value != int(value) or not 0 <= value <= 255:
            raise ValueError(f"The zebra level must be a whole number from 0 to 255, got {value!r}.")
        value = int(value)
    elif name == "loupe_zoom":
        if not is_finite_number(value) or value != int(value):
            raise ValueError(f"The loupe zoom must be 0 (off) or a whole number from 2 to 8, got {value!r}.")
        value = int(value)
    return value


def with_overlay_choices(overlay: OverlaySettings, choices: dict) -> OverlaySettings:
    """``overlay`` with the known ``choices`` applied; unknown names are ignored, a bad
    value raises ValueError (or TypeError) with what is wrong, in one sentence."""
    return replace(overlay, **{name: _checked_choice(name, choices[name]) for name in OVERLAY_CHOICES if name in choices})
