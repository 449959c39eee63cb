"""Tethered cameras through libgphoto2 — the ONLY module that imports gphoto2 (lazily).

One :class:`GPhotoCamera` wraps one ``gphoto2.Camera`` and has one owner (the live
session's acquisition thread, or a command-line command). After ``close()`` the
libgphoto2 object is dropped and never touched again: libgphoto2's virtual camera
crashes the process on a call after ``exit()``, real drivers reopen silently. To
reconnect, make a new GPhotoCamera.

Facts about libgphoto2 this relies on: ``capture_preview()`` turns live view on by
itself and returns JPEG bytes (copied before the CameraFile is dropped); settings are
read and written one widget at a time (the whole tree takes seconds on some bodies);
RAW+JPEG arrives as several FILE_ADDED events after ``trigger_capture()``; the PTP
event 0x400A (StoreFull) or error -3/-115 means the card is full.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from focuslock.core.frames import Frame
from focuslock.devices.base import (
    CameraError,
    CameraNotFoundError,
    Capabilities,
    CorruptFrameError,
    NoLiveViewError,
    NotSupportedError,
    Setting,
    SettingValueError,
)
from focuslock.devices.body_report import DRIVE_WIDGETS, Attempt, BodyFacts, CameraMark, MarkKind, SourceKind
from focuslock.devices.gphoto_discovery import CameraInfo, choose_camera, choose_profile, detect_cameras, select_port
from focuslock.devices.gphoto_errors import GP_ERROR_CAMERA_BUSY, error_code, translate
from focuslock.devices.gphoto_transfer import CardFiles
from focuslock.devices.gphoto_values import canon_af_box, is_number, summary_field
from focuslock.devices.gphoto_widgets import BodyWidgets
from focuslock.devices.playback import FramePacer
from focuslock.devices.profiles import SETTING_NAMES, Profile
from focuslock.devices.zoom import ZoomWindow
from focuslock.io.limits import decode_image

__all__ = ["CameraInfo", "GPhotoCamera", "list_cameras", "gphoto2_module"]

# A busy camera is asked again this many times, waiting longer each time.
BUSY_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8)
# With no live view, a body gives "live" frames by capturing this often at most.
FALLBACK_FRAME_RATE_HZ = 1.0


def gphoto2_module():
    """Import python-gphoto2 (only when a tethered camera is really used)."""
    try:
        import gphoto2
    except ImportError as error:  # e.g. Windows, where only video and folder sources work
        raise CameraNotFoundError(
            f"Tethering needs libgphoto2 through the gphoto2 Python package, which is not available here ({error})."
        ) from None
    return gphoto2


def list_cameras() -> list[CameraInfo]:
    """Every camera libgphoto2 can see, with the profile that would drive it."""
    return detect_cameras(gphoto2_module())


class GPhotoCamera:
    """A tethered body through libgphoto2. See the module docstring.

    Parameters
    ----------
    model_or_port:
        Which camera: a port (``usb:001,004``) or part of the model name; the only
        one connected when omitted.
    download_folder:
        Where files the camera announces on its own (its shutter button) are saved.
    delete_after_download:
        Delete each file from the camera once its download is verified.
    camera_factory:
        Makes the libgphoto2 camera object: ``gphoto2.Camera`` unless a test puts a
        named fake at this boundary (live view and focus drive need a real body).
    captures_as_live_view:
        On a body without USB live view, show a capture about once a second instead.
        Off unless asked for: every frame is a shutter actuation (about 3,600 an hour).
    """

    def __init__(self, model_or_port: str | None = None, *, download_folder: Path | None = None,
                 delete_after_download: bool = False, camera_factory: Callable[[], Any] | None = None,
                 captures_as_live_view: bool = False) -> None:
        self.captures_as_live_view = captures_as_live_view
        self.wanted = model_or_port
        self.download_folder = Path(download_folder) if download_folder is not None else None
        self.delete_after_download = delete_after_download
        self._factory = camera_factory
        self._gp: Any = None
        self._camera: Any = None
        self._closed = False
        self.info: CameraInfo | None = None
        self.profile: Profile | None = None
        self.name = f"Camera {model_or_port}" if model_or_port else "Tethered camera"
        self.manufacturer = ""
        self._sequence = 0
        self._live_view = True
        self._pacer = FramePacer(None)
        self._zoom: str | None = None
        self._zooms_available: tuple[float, ...] = ()
        self._live_view_size: tuple[int, int] | None = None
        self._zoom_window: ZoomWindow | None = None
        self.downloaded: list[Path] = []
        self._exposure_cache: dict | None = None
        self._focus_drive_available = False
        self._settings_available: tuple[str, ...] = ()
        # What live view, the drive and a capture in live view did when tried (the body report's facts).
        self._tried: dict[str, Attempt] = {}

    # ------------------------------------------------------------------ life cycle
    def open(self) -> None:
        if self._camera is not None:
            return
        if self._closed:
            raise CameraError("This camera connection was closed; make a new one to reconnect.")
        gp = self._gp = gphoto2_module()
        if self._factory is None:
            self.info = choose_camera(list_cameras(), self.wanted)
            camera = gp.Camera()
            select_port(gp, camera, self.info)
        else:
            camera = self._factory()
            self.info = CameraInfo(getattr(camera, "model_name", "Camera"), getattr(camera, "port_name", "fake:"), "")
        try:
            camera.init()
        except Exception as error:
            raise translate(error, "connecting") from None
        self._camera = camera
        summary = self._call(lambda: camera.get_summary().text, "reading the camera's summary", retry=True)
        self.manufacturer = summary_field(summary, "Manufacturer") or self.info.model.split()[0]
        summary_model = summary_field(summary, "Model") or ""
        self.profile = choose_profile(self.info, self.manufacturer, summary_model)
        self.info = CameraInfo(self.info.model, self.info.port, self.profile.key)
        self.name = f"{self.info.model} on {self.info.port}"
        drive = self.profile.focus_drive
        # A family's focus drive is only there if this body has the widget (libgphoto2's
        # virtual camera and some older bodies have none).
        widgets = self._widgets()
        self._focus_drive_available = drive is not None and widgets.has_widget(drive.widget)
        zoom = self.profile.zoom_widget
        self._zooms_available = tuple(sorted({1.0, *(float(v) for v in self.profile.zoom_values if is_number(v))})
                                      ) if zoom and self.profile.zoom_values and widgets.has_widget(zoom) else ()
        self._settings_available = tuple(
            name for name in (*SETTING_NAMES, "liveviewsize")
            if name != "focal_length" and (named := widgets.widget_name(name)) and widgets.has_widget(named)
        )

    def close(self) -> None:
        """Turn live view off where the body needs it, and release the device."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        self._closed = True
        try:
            self._widgets().set_live_view(camera, on=False)
        except Exception:
            pass  # a vanished camera cannot be told; nothing else to do
        try:
            camera.exit()
        except Exception:
            pass
        del camera
        gc.collect()  # libgphoto2 releases shared state only when the object is gone

    # ------------------------------------------------------------------- internals
    def _card(self, camera) -> CardFiles:
        """The open body's card: captures and the files it announces, downloaded."""
        return CardFiles(self._gp, camera, self._call, self.downloaded, self.delete_after_download)

    def _require(self):
        if self._camera is None:
            raise CameraError(f"{self.name} is not open.")
        return self._camera

    def _call(self, action: Callable[[], Any], doing: str, *, retry: bool = True):
        """Run a libgphoto2 call; a busy camera is asked again with growing pauses."""
        delays = BUSY_RETRY_DELAYS_S if retry else ()
        for attempt in range(len(delays) + 1):
            try:
                return action()
            except Exception as error:
                if error_code(error) == GP_ERROR_CAMERA_BUSY and attempt < len(delays):
                    time.sleep(delays[attempt])
                    continue
                raise translate(error, doing) from None
        raise AssertionError("unreachable")

    def _widgets(self) -> BodyWidgets:
        """The body's settings, one widget at a time, as its profile names them."""
        return BodyWidgets(self._require, self._call, self.profile)

    # ------------------------------------------------------------- Camera protocol
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            live_view=True,
            focus_drive=self._focus_drive_available,
            capture=True,
            settings=self._settings_available,
            finite=False,
            frame_rate_hz=None if self._live_view else FALLBACK_FRAME_RATE_HZ,
            live_view_zooms=self._zooms_available if self._live_view else (),
            notes=() if self._live_view else ("No live view on this body: frames are captures, about one a second.",),
        )

    def read_frame(self) -> Frame:
        camera = self._require()
        self._card(camera).download_announced(self.download_folder)
        if self._live_view:
            try:
                data = self._call(lambda: bytes(memoryview(camera.capture_preview().get_data_and_size())), "reading live view")
            except NotSupportedError:
                model = self.info.model if self.info else "This camera"
                self._tried["live_view"] = Attempt(True, False, f"libgphoto2 gets no live view from {model} over USB "
                                                                "(the body answered: not supported).")
                if not self.captures_as_live_view:
                    # Never fire the shutter unasked: each frame would wear it.
                    raise NoLiveViewError(
                        f"{model} has no live view over USB; to see a capture about once a second instead (a shutter "
                        "actuation each, about 3,600 an hour), run with --captures-as-live-view."
                    ) from None
                # Asked for: slow "live" frames from captures.
                self._live_view = False
                self._pacer = FramePacer(FALLBACK_FRAME_RATE_HZ)
                raise NotSupportedError(
                    f"{model} has no live view over USB; focuslock shows a capture about once a second instead "
                    "(a shutter actuation each)."
                ) from None
        else:
            self._pacer.wait()
            data = self._card(camera).capture_to_memory()
        try:
            bgr = decode_image(data, "A live-view frame from the camera")
        except CorruptFrameError:
            self._sequence += 1
            raise
        if self._zoom_window is None:
            self._live_view_size = (bgr.shape[1], bgr.shape[0])
        if self._live_view:
            self._tried["live_view"] = Attempt(True, True)
        frame = Frame(
            sequence=self._sequence,
            timestamp_s=time.monotonic(),
            image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
            metadata={"source_kind": "gphoto2", "live_view": self._live_view, "jpeg_bytes": len(data), **self._exposure_metadata(),
                      **(self._zoom_window.metadata() if self._zoom_window is not None else {})},
        )
        self._sequence += 1
        return frame

    def _exposure_metadata(self) -> dict:
        # Read at most every 30th frame: single widgets are cheap, but not free.
        if self._sequence % 30 == 0 or self._exposure_cache is None:
            self._exposure_cache = self._widgets().exposure()
            box, _ = self._af_point()
            if box is not None:
                self._exposure_cache["camera_af_box_px"] = box
        return dict(self._exposure_cache)

    def drive_focus(self, steps: int) -> int:
        profile = self.profile
        if profile is None or profile.focus_drive is None or not self._focus_drive_available:
            model = self.info.model if self.info else "This camera"
            raise NotSupportedError(f"{model} offers no focus drive over USB; focus by hand (or on a rail).")
        drive = profile.focus_drive
        current = None
        if drive.kind == "absolute":
            current = int(float(self._widgets().widget(drive.widget).get_value()))
        try:
            values = drive.writes(int(steps), current)
        except ValueError as error:
            raise SettingValueError(str(error)) from None
        widgets = self._widgets()
        try:
            for value in values:
                widgets.write(drive.widget, value)
        except NotSupportedError as error:
            self._tried["focus_drive"] = Attempt(True, False, error.user_message)
            raise
        self._tried["focus_drive"] = Attempt(True, True)
        return int(steps)

    def capture(self, folder: Path, name: Callable[[str], str] | None = None) -> list[Path]:
        """Trigger a capture and download every file it makes (RAW+JPEG pairs too), each
        saved as ``name`` calls it (the card's name when None)."""
        camera = self._require()
        folder = Path(folder)
        self._call(camera.trigger_capture, "capturing")
        written: list[Path] = []
        try:
            files = self._card(camera).collect_capture(folder, written, name)
            if self._tried.get("live_view", Attempt()).worked:
                self._tried["capture_in_live_view"] = Attempt(True, True)
            return files
        except CameraError as error:
            error.saved_paths = list(written)
            raise

    def get_settings(self) -> dict[str, Setting]:
        return self._widgets().settings(self.capabilities.settings)

    def set_live_view_zoom(self, zoom: float, centre_px: tuple[float, float] | None = None) -> ZoomWindow:
        """Zoom the body's live view (its profile's zoom widget: Canon ``eoszoom``, Nikon
        ``liveviewimagezoomratio``). The body zooms on its own focus frame; focuslock
        does not move it (Canon's ``eoszoomposition`` takes sensor coordinates whose
        scale differs between bodies and is not verified here): frame the feature in the
        middle. Returns the window shown, taken as centred."""
        if zoom not in self._zooms_available:
            offered = ", ".join(f"{z:g}×" for z in self._zooms_available) or "none"
            raise NotSupportedError(f"{self.name} does not zoom live view {zoom:g}× from the computer (zooms: {offered}).")
        profile = self.profile
        assert profile is not None and profile.zoom_widget is not None  # zooms come only from the profile's widget
        value = next((v for v in profile.zoom_values if is_number(v) and float(v) == zoom), "1")
        self._widgets().write(profile.zoom_widget, value)
        self._zoom = value
        size = self._live_view_size or (1024, 680)
        window = ZoomWindow.centred_on(zoom, (size[0] / 2.0, size[1] / 2.0), size)
        self._zoom_window = None if zoom == 1.0 else window
        return window

    def set_setting(self, name: str, value: str) -> None:
        self._widgets().set_setting(name, value, self.capabilities.settings, self.name)

    def _af_point(self) -> tuple[tuple[int, int, int, int] | None, str]:
        """The body's selected AF point in live-view pixels where it reports one (Canon's
        ``focusinfo``), or None and why not."""
        widget = self.profile.af_point_widget if self.profile is not None else None
        if widget is None:
            family = self.profile.name if self.profile is not None else "chosen"
            return None, f"the {family} profile knows no widget where this body reports its AF point"
        if self._live_view_size is None:
            return None, "the AF point is placed once live view has given a frame"
        try:
            return canon_af_box(str(self._widgets().widget(widget).get_value()), self._live_view_size)
        except CameraError:
            return None, f"libgphoto2 has no '{widget}' widget for this body"

    def body_facts(self) -> BodyFacts:
        """What the body reports for :mod:`.body_report`: the widgets its abilities hang on
        (absent ones as None), and what live view, the drive and captures did."""
        profile = self.profile
        widgets: dict[str, str | None] = {}
        if profile is not None and self._camera is not None:
            names = {*DRIVE_WIDGETS, *(limit.widget for limit in profile.limits if limit.widget),
                     *(w for w in (profile.zoom_widget, profile.focus_drive.widget if profile.focus_drive else None) if w)}
            body = self._widgets()
            for name in sorted(names):
                try:
                    widgets[name] = str(body.widget(name).get_value())
                except CameraError:
                    widgets[name] = None
        box, note = self._af_point()
        zoom_note = ("; its zoom frame is not read back (Canon's eoszoomposition is write-only)"
                     if profile is not None and profile.zoom_position_widget else "")
        return BodyFacts(SourceKind.TETHERED, self.info.model if self.info else "", profile, widgets,
                         self._tried.get("live_view", Attempt()), self._tried.get("focus_drive", Attempt()),
                         self._tried.get("capture_in_live_view", Attempt()),
                         marks=(CameraMark(MarkKind.AF, box),) if box is not None else (),
                         marks_note=(note + zoom_note) if box is None else zoom_note.removeprefix("; "))


def virtual_camera_folder() -> str | None:
    """The folder libgphoto2's virtual camera serves, when one is switched on."""
    return os.environ.get("VCAMERADIR")
