"""The simulated body's exposure settings: the apertures, shutter speeds and ISO values
it offers, read and set as a tethered body's are (:class:`BenchSettings`, a part of
:class:`focuslock.simulators.sim.SimulatedBench`)."""

from __future__ import annotations

from focuslock.devices.base import Setting, SettingValueError

__all__ = ["F_NUMBERS", "ISO_VALUES", "SHUTTER_SPEEDS", "BenchSettings"]

F_NUMBERS = ("2.8", "3.5", "4", "5.6", "8", "11", "16", "22", "32")
SHUTTER_SPEEDS = ("1/15", "1/30", "1/60", "1/125", "1/250", "1/500", "1/1000")
ISO_VALUES = ("100", "200", "400", "800", "1600", "3200", "6400", "12800", "25600")


class BenchSettings:
    """Aperture, shutter speed and ISO of the bench (its ``f_number``, ``exposure_s`` and
    ``iso``) as the camera protocol's settings."""

    f_number: float
    exposure_s: float
    iso: int

    def get_settings(self) -> dict[str, Setting]:
        return {
            "aperture": Setting("aperture", "Aperture", _format_f_number(self.f_number), F_NUMBERS),
            "shutterspeed": Setting("shutterspeed", "Shutter speed", _format_shutter(self.exposure_s), SHUTTER_SPEEDS),
            "iso": Setting("iso", "ISO", str(self.iso), ISO_VALUES),
        }

    def set_setting(self, name: str, value: str) -> None:
        value = str(value).strip()
        if name == "aperture":
            text = value.lower().removeprefix("f/")
            if text not in F_NUMBERS:
                raise SettingValueError(f"The bench's lens has no aperture f/{text}; choose one of {', '.join(F_NUMBERS)}.")
            self.f_number = float(text)
        elif name == "shutterspeed":
            if value not in SHUTTER_SPEEDS:
                raise SettingValueError(f"{value} is not a shutter speed of the bench; choose one of {', '.join(SHUTTER_SPEEDS)}.")
            numerator, denominator = value.split("/")
            self.exposure_s = float(numerator) / float(denominator)
        elif name == "iso":
            if value not in ISO_VALUES:
                raise SettingValueError(f"ISO {value} is not available; choose one of {', '.join(ISO_VALUES)}.")
            self.iso = int(value)
        else:
            raise SettingValueError(f"The simulated bench has no setting called {name!r}.")


def _format_f_number(f_number: float) -> str:
    return f"{f_number:g}"


def _format_shutter(exposure_s: float) -> str:
    if exposure_s >= 1:
        return f"{exposure_s:g}"
    return f"1/{round(1 / exposure_s)}"
