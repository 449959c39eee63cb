"""A tethered body's settings, read and written one widget at a time (the whole tree
takes seconds on some bodies), named as its profile (:mod:`.profiles`) maps them.

The camera object comes from :mod:`.gphoto`, the only module that imports gphoto2:
``require()`` gives the open camera (CameraError when it is not), ``call(action,
doing)`` runs a libgphoto2 call (:meth:`focuslock.devices.gphoto.GPhotoCamera._call`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from focuslock.devices.base import CameraError, Setting, SettingValueError
from focuslock.devices.gphoto_values import match_choice, parse_f_number, parse_float, parse_int, parse_shutter
from focuslock.devices.profiles import Profile

__all__ = ["BodyWidgets"]


class BodyWidgets:
    """The widgets of one body, as its ``profile`` names them (None: not yet known)."""

    def __init__(self, require: Callable[[], Any], call: Callable[..., Any], profile: Profile | None) -> None:
        self.require = require
        self.call = call
        self.profile = profile

    def widget_name(self, setting: str) -> str | None:
        """The body's widget for one of focuslock's setting names."""
        if self.profile is None:
            return None
        if setting == "liveviewsize":
            return self.profile.live_view_size_widget
        return self.profile.settings.get(setting)

    def widget(self, name: str):
        camera = self.require()
        return self.call(lambda: camera.get_single_config(name), f"reading {name}")

    def has_widget(self, name: str) -> bool:
        try:
            self.widget(name)
            return True
        except CameraError:
            return False

    def write(self, name: str, value: str) -> None:
        camera = self.require()

        def write():
            widget = camera.get_single_config(name)
            widget.set_value(value)
            camera.set_single_config(name, widget)

        self.call(write, f"setting {name} to {value}")

    def set_live_view(self, camera, on: bool) -> None:
        """Live view on or off where the body needs telling (straight to ``camera``: also
        while it is being closed)."""
        profile = self.profile
        if profile is None:
            return
        for widget in profile.live_view_widgets:
            try:
                config = camera.get_single_config(widget)
            except Exception:
                continue  # this body names it differently (eosviewfinder before 2014)
            config.set_value(profile.live_view_on if on else profile.live_view_off)
            camera.set_single_config(widget, config)
            return

    def exposure(self) -> dict:
        """The aperture, shutter speed, ISO and focal length the body reports, as numbers
        (what it does not report, or not as a number, left out)."""
        meta: dict = {}
        for name, key, parse in (("aperture", "f_number", parse_f_number), ("shutterspeed", "exposure_s", parse_shutter),
                                 ("iso", "iso", parse_int), ("focal_length", "focal_length_mm", parse_float)):
            widget = self.profile.settings.get(name) if self.profile else None
            if not widget:
                continue
            try:
                value = parse(str(self.widget(widget).get_value()))
            except (CameraError, ValueError):
                continue
            if value is not None:
                meta[key] = value
        return meta

    def settings(self, names: tuple[str, ...]) -> dict[str, Setting]:
        """The settings ``names`` that this body has, with their choices."""
        settings: dict[str, Setting] = {}
        if self.profile is None:
            return settings
        for name in names:
            widget_name = self.widget_name(name)
            if widget_name is None:
                continue  # the profile names no widget for it
            try:
                widget = self.widget(widget_name)
            except CameraError:
                continue  # this body lacks it
            choices = ()
            try:
                choices = tuple(widget.get_choice(i) for i in range(widget.count_choices()))
            except Exception:
                pass
            read_only = bool(widget.get_readonly()) if hasattr(widget, "get_readonly") else False
            settings[name] = Setting(name, widget.get_label() or name, str(widget.get_value()), choices, read_only)
        return settings

    def set_setting(self, name: str, value: str, available: tuple[str, ...], body: str) -> None:
        """Set one of the ``available`` settings; a typed value ('8', '1/100') is matched
        to the body's own choice ('f/8', '0.0100s'). ``body`` names the camera in errors."""
        widget_name = self.widget_name(name)
        if widget_name is None or name not in available:
            raise SettingValueError(f"{body} has no setting called {name!r}.")
        widget = self.widget(widget_name)
        choices = ()
        try:
            choices = tuple(widget.get_choice(i) for i in range(widget.count_choices()))
        except Exception:
            pass
        if choices and value not in choices:
            matched = match_choice(value, choices)
            if matched is None:
                raise SettingValueError(f"{value} is not among this camera's {name} values; choose one of {', '.join(choices)}.")
            value = matched
        self.write(widget_name, value)
