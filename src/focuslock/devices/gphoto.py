"""Tethered cameras through libgphoto2 — the ONLY module that imports gphoto2 (lazily).

One :class:`GPhotoCamera` wraps one ``gphoto2.Camera`` and has one owner (the live
session's acquisition thread, or a command-line command). After ``close()`` the
libgphoto2 object is dropped and never touched again: libgphoto2's virtual camera
crashes the process on a call after ``exit()``, real drivers reopen silently. To
reconnect, make a new GPhotoCamera.

Facts this relies on (FIELD-NOTES.md): ``capture_preview()`` turns live view on by
itself and returns JPEG bytes (copied before the CameraFile is dropped); settings are
read and written one widget at a time (the whole tree takes seconds on some bodies);
RAW+JPEG arrives as several FILE_ADDED events after ``trigger_capture()``; the PTP
event 0x400A (StoreFull) or error -3/-115 means the card is full.
"""

from __future__ import annotations

import gc
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2

from focuslock.devices.base import (
    Capabilities,
    CameraBusyError,
    CameraDisconnectedError,
    CameraError,
    CameraNotFoundError,
    CorruptFrameError,
    NoLiveViewError,
    NotSupportedError,
    Setting,
    SettingValueError,
    StorageFullError,
)
from focuslock.io.files import save_capture
from focuslock.io.limits import decode_image, jpeg_cut_short
from focuslock.devices.playback import FramePacer
from focuslock.devices.profiles import SETTING_NAMES, Profile, match_profile
from focuslock.devices.zoom import ZoomWindow
from focuslock.core.frames import Frame

__all__ = ["CameraInfo", "GPhotoCamera", "list_cameras", "gphoto2_module"]

# libgphoto2 error codes (gphoto2/gphoto2-result.h, gphoto2-port-result.h).
GP_ERROR = -1
GP_ERROR_BAD_PARAMETERS = -2
GP_ERROR_NO_MEMORY = -3
GP_ERROR_NOT_SUPPORTED = -6
GP_ERROR_IO = -7
GP_ERROR_TIMEOUT = -10
GP_ERROR_IO_USB_FIND = -52
GP_ERROR_IO_USB_CLAIM = -53
GP_ERROR_MODEL_NOT_FOUND = -105
GP_ERROR_CAMERA_BUSY = -110
GP_ERROR_NO_SPACE = -115
GP_ERROR_CAMERA_ERROR = -113
DISCONNECT_CODES = {GP_ERROR_IO, -8, -11, -34, -35, -36, -37, -51, GP_ERROR_IO_USB_FIND, GP_ERROR_MODEL_NOT_FOUND}

# A busy camera is asked again this many times, waiting longer each time.
BUSY_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8)
# After CAPTURE_COMPLETE, more files (the JPEG of a RAW+JPEG pair) may still come.
QUIET_PERIOD_S = 0.25
CAPTURE_TIMEOUT_S = 30.0
# With no live view, a body gives "live" frames by capturing this often at most.
FALLBACK_FRAME_RATE_HZ = 1.0

FREE_COMMAND = "gio mount -s gphoto2"


def gphoto2_module():
    """Import python-gphoto2 (only when a tethered camera is really used)."""
    try:
        import gphoto2
    except ImportError as error:  # e.g. Windows, where only video and folder sources work
        raise CameraNotFoundError(
            f"Tethering needs libgphoto2 through the gphoto2 Python package, which is not available here ({error})."
        ) from None
    return gphoto2


def _code(error: Exception) -> int | None:
    return getattr(error, "code", None)


def translate(error: Exception, doing: str) -> CameraError:
    """A libgphoto2 error as the CameraError a user can act on."""
    code = _code(error)
    text = str(error).strip()
    if code == GP_ERROR_IO_USB_CLAIM:
        return CameraBusyError(
            "The camera is held by another program (the desktop's photo import service). "
            f"Run `{FREE_COMMAND}` (or stop gvfs-gphoto2-volume-monitor) and try again."
        )
    if code == GP_ERROR_CAMERA_BUSY:
        return CameraBusyError(f"The camera stayed busy while {doing}; wait for it and try again.")
    if code in (GP_ERROR_NO_MEMORY, GP_ERROR_NO_SPACE):
        return StorageFullError("The camera's card (or its memory) is full; free space on it and capture again.")
    if code == GP_ERROR_NOT_SUPPORTED:
        return NotSupportedError(f"This camera does not support {doing}.")
    if code in DISCONNECT_CODES or "PTP" in text and code == GP_ERROR:
        return CameraDisconnectedError(f"The camera stopped answering while {doing} (cable pulled or body asleep); reconnecting.")
    return CameraError(f"The camera reported an error while {doing}: {text or code}.")


@dataclass(frozen=True)
class CameraInfo:
    model: str
    port: str
    profile: str

    def to_json(self) -> dict:
        return {"model": self.model, "port": self.port, "profile": self.profile}


def list_cameras() -> list[CameraInfo]:
    """Every camera libgphoto2 can see, with the profile that would drive it."""
    gp = gphoto2_module()
    try:
        detected = gp.Camera.autodetect()
    except Exception as error:
        raise translate(error, "looking for cameras") from None
    cameras = []
    for index in range(detected.count()):
        model, port = detected.get_name(index), detected.get_value(index)
        manufacturer = model.split()[0] if model else ""
        cameras.append(CameraInfo(model, port, match_profile(manufacturer, model).key))
    return cameras


def _matches(camera: CameraInfo, wanted: str | None) -> bool:
    if not wanted:
        return True
    wanted_lower = wanted.lower()
    return camera.port.lower() == wanted_lower or wanted_lower in camera.model.lower()


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

    # ------------------------------------------------------------------ life cycle
    def open(self) -> None:
        if self._camera is not None:
            return
        if self._closed:
            raise CameraError("This camera connection was closed; make a new one to reconnect.")
        gp = self._gp = gphoto2_module()
        if self._factory is None:
            detected = [c for c in list_cameras() if _matches(c, self.wanted)]
            if not detected:
                if self.wanted:
                    raise CameraNotFoundError(f"No camera matching {self.wanted!r} is connected; check the cable and that the body is on.")
                raise CameraNotFoundError("No camera is connected; check the cable, that the body is on and in PC/tether mode.")
            if len(detected) > 1 and not self.wanted:
                names = ", ".join(f"{c.model} on {c.port}" for c in detected)
                raise CameraNotFoundError(f"Several cameras are connected ({names}); choose one by model or port.")
            self.info = detected[0]
            camera = gp.Camera()
            self._select_port(gp, camera, self.info)
        else:
            camera = self._factory()
            self.info = CameraInfo(getattr(camera, "model_name", "Camera"), getattr(camera, "port_name", "fake:"), "")
        try:
            camera.init()
        except Exception as error:
            raise translate(error, "connecting") from None
        self._camera = camera
        summary = self._call(lambda: camera.get_summary().text, "reading the camera's summary", retry=True)
        self.manufacturer = _summary_field(summary, "Manufacturer") or self.info.model.split()[0]
        summary_model = _summary_field(summary, "Model") or ""
        self.profile = self._choose_profile(summary_model)
        self.info = CameraInfo(self.info.model, self.info.port, self.profile.key)
        self.name = f"{self.info.model} on {self.info.port}"
        drive = self.profile.focus_drive
        # A family's focus drive is only there if this body has the widget (libgphoto2's
        # virtual camera and some older bodies have none).
        self._focus_drive_available = drive is not None and self._has_widget(drive.widget)
        zoom = self.profile.zoom_widget
        self._zooms_available = tuple(sorted({1.0, *(float(v) for v in self.profile.zoom_values if _is_number(v))})
                                      ) if zoom and self.profile.zoom_values and self._has_widget(zoom) else ()
        self._settings_available = tuple(
            name for name in (*SETTING_NAMES, "liveviewsize")
            if name != "focal_length" and self._widget_name(name) and self._has_widget(self._widget_name(name))
        )

    def _choose_profile(self, summary_model: str) -> Profile:
        assert self.info is not None
        for model in (self.info.model, summary_model):
            profile = match_profile(self.manufacturer, model)
            if not profile.fallback:
                return profile
        return match_profile(self.info.model.split()[0] if self.info.model else "", self.info.model)

    @staticmethod
    def _select_port(gp, camera, info: CameraInfo) -> None:
        # Open exactly the camera that was chosen, not whichever libgphoto2 finds first.
        ports = gp.PortInfoList()
        ports.load()
        abilities = gp.CameraAbilitiesList()
        abilities.load()
        camera.set_port_info(ports[ports.lookup_path(info.port)])
        camera.set_abilities(abilities[abilities.lookup_model(info.model)])

    def close(self) -> None:
        """Turn live view off where the body needs it, and release the device."""
        camera, self._camera = self._camera, None
        if camera is None:
            return
        self._closed = True
        try:
            self._set_live_view(camera, on=False)
        except Exception:
            pass  # a vanished camera cannot be told; nothing else to do
        try:
            camera.exit()
        except Exception:
            pass
        del camera
        gc.collect()  # libgphoto2 releases shared state only when the object is gone

    # ------------------------------------------------------------------- internals
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
                if _code(error) == GP_ERROR_CAMERA_BUSY and attempt < len(delays):
                    time.sleep(delays[attempt])
                    continue
                raise translate(error, doing) from None
        raise AssertionError("unreachable")

    def _widget_name(self, setting: str) -> str | None:
        """The body's widget for one of focuslock's setting names."""
        if self.profile is None:
            return None
        if setting == "liveviewsize":
            return self.profile.live_view_size_widget
        return self.profile.settings.get(setting)

    def _widget(self, name: str):
        camera = self._require()
        return self._call(lambda: camera.get_single_config(name), f"reading {name}")

    def _has_widget(self, name: str) -> bool:
        try:
            self._widget(name)
            return True
        except CameraError:
            return False

    def _write(self, name: str, value: str) -> None:
        camera = self._require()

        def write():
            widget = camera.get_single_config(name)
            widget.set_value(value)
            camera.set_single_config(name, widget)

        self._call(write, f"setting {name} to {value}")

    def _set_live_view(self, camera, on: bool) -> None:
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
        self._download_announced(camera)
        if self._live_view:
            try:
                data = self._call(lambda: bytes(memoryview(camera.capture_preview().get_data_and_size())), "reading live view")
            except NotSupportedError:
                model = self.info.model if self.info else "This camera"
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
            data = self._capture_to_memory(camera)
        try:
            bgr = decode_image(data, "A live-view frame from the camera")
        except CorruptFrameError:
            self._sequence += 1
            raise
        if self._zoom_window is None:
            self._live_view_size = (bgr.shape[1], bgr.shape[0])
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
            meta: dict = {}
            for name, key, parse in (("aperture", "f_number", _parse_f_number), ("shutterspeed", "exposure_s", _parse_shutter),
                                     ("iso", "iso", _parse_int), ("focal_length", "focal_length_mm", _parse_float)):
                widget = self.profile.settings.get(name) if self.profile else None
                if not widget:
                    continue
                try:
                    value = parse(str(self._widget(widget).get_value()))
                except (CameraError, ValueError):
                    continue
                if value is not None:
                    meta[key] = value
            self._exposure_cache = meta
        return dict(self._exposure_cache)

    def _capture_to_memory(self, camera) -> bytes:
        gp = self._gp
        path = self._call(lambda: camera.capture(gp.GP_CAPTURE_IMAGE), "capturing a frame")
        try:
            camera_file = self._call(lambda: camera.file_get(path.folder, path.name, gp.GP_FILE_TYPE_NORMAL), "downloading a frame")
            data = bytes(memoryview(camera_file.get_data_and_size()))
        finally:
            # Slow live frames must not fill the card.
            try:
                camera.file_delete(path.folder, path.name)
            except Exception:
                pass
        return data

    def drive_focus(self, steps: int) -> int:
        profile = self.profile
        if profile is None or profile.focus_drive is None or not self._focus_drive_available:
            model = self.info.model if self.info else "This camera"
            raise NotSupportedError(f"{model} offers no focus drive over USB; focus by hand (or on a rail).")
        drive = profile.focus_drive
        current = None
        if drive.kind == "absolute":
            current = int(float(self._widget(drive.widget).get_value()))
        try:
            values = drive.writes(int(steps), current)
        except ValueError as error:
            raise SettingValueError(str(error)) from None
        for value in values:
            self._write(drive.widget, value)
        return int(steps)

    def capture(self, folder: Path) -> list[Path]:
        """Trigger a capture and download every file it makes (RAW+JPEG pairs too)."""
        camera = self._require()
        folder = Path(folder)
        self._call(camera.trigger_capture, "capturing")
        written: list[Path] = []
        try:
            return self._collect_capture(camera, folder, written)
        except CameraError as error:
            error.saved_paths = list(written)
            raise

    def _collect_capture(self, camera, folder: Path, written: list[Path]) -> list[Path]:
        gp = self._gp
        complete_at = None
        started = time.monotonic()
        while True:
            now = time.monotonic()
            if complete_at is not None and now - complete_at > QUIET_PERIOD_S:
                break
            if now - started > CAPTURE_TIMEOUT_S:
                if written:
                    break
                raise CameraError("The camera took no picture within 30 s; check the shutter and the focus mode.")
            kind, data = self._call(lambda: camera.wait_for_event(100), "waiting for the capture")
            if kind == gp.GP_EVENT_FILE_ADDED:
                written.append(self._download(camera, data.folder, data.name, folder))
            elif kind == gp.GP_EVENT_CAPTURE_COMPLETE:
                complete_at = time.monotonic()
            elif kind == gp.GP_EVENT_UNKNOWN and _is_store_full(data):
                raise StorageFullError(
                    "The camera's card is full: it took no picture. Every earlier file is intact"
                    f"{' in ' + str(folder) if written or self.downloaded else ''}; free space on the card and capture again."
                )
            elif kind == gp.GP_EVENT_TIMEOUT and complete_at is None and written and now - started > 2.0:
                complete_at = time.monotonic()  # some bodies never send CAPTURE_COMPLETE
        if not written:
            raise CameraError("The camera reported the capture complete but sent no file.")
        return written

    def _download(self, camera, camera_folder: str, camera_name: str, folder: Path) -> Path:
        """Download one file, verify it, save it as a new file, and only then (if asked)
        delete it from the card."""
        gp = self._gp
        info = self._call(lambda: camera.file_get_info(camera_folder, camera_name), f"reading {camera_name}'s size")
        expected = int(info.file.size) if info.file.fields & gp.GP_FILE_INFO_SIZE else None
        data = self._read_camera_file(camera, camera_folder, camera_name)
        if expected is not None and len(data) != expected:
            raise CameraError(f"{camera_name} arrived with {len(data)} of {expected} bytes; it stays on the camera, capture it again.")
        if expected is None:
            # No size to check against: a second read must give the same bytes, and a
            # JPEG must end with its end-of-image marker (a cut transfer does not).
            again = self._read_camera_file(camera, camera_folder, camera_name)
            if again != data:
                raise CameraError(f"{camera_name} read twice from the camera gave different bytes; "
                                  "it stays on the camera, capture it again.")
            if jpeg_cut_short(data):
                raise CameraError(f"{camera_name} arrived cut short ({len(data)} bytes, no end-of-image marker); "
                                  "it stays on the camera, capture it again.")
        path = save_capture(folder, camera_name, data, stays_on_camera=True)
        self.downloaded.append(path)
        if self.delete_after_download:
            self._call(lambda: camera.file_delete(camera_folder, camera_name), f"deleting {camera_name} from the camera")
        return path

    def _read_camera_file(self, camera, camera_folder: str, camera_name: str) -> bytes:
        gp = self._gp
        camera_file = self._call(lambda: camera.file_get(camera_folder, camera_name, gp.GP_FILE_TYPE_NORMAL),
                                 f"downloading {camera_name}")
        return bytes(memoryview(camera_file.get_data_and_size()))

    def _download_announced(self, camera) -> None:
        """Files the camera announced on its own (its shutter pressed): download them."""
        gp = self._gp
        for _ in range(16):  # drain what is waiting, without stalling live view
            try:
                kind, data = camera.wait_for_event(1)
            except Exception as error:
                raise translate(error, "reading the camera's events") from None
            if kind == gp.GP_EVENT_TIMEOUT:
                return
            if kind == gp.GP_EVENT_FILE_ADDED:
                folder = self.download_folder or Path.cwd()
                self._download(camera, data.folder, data.name, folder)

    def get_settings(self) -> dict[str, Setting]:
        profile = self.profile
        settings: dict[str, Setting] = {}
        if profile is None:
            return settings
        for name in self.capabilities.settings:
            widget_name = self._widget_name(name)
            try:
                widget = self._widget(widget_name)
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

    def set_live_view_zoom(self, zoom: float, centre_px: tuple[float, float] | None = None) -> ZoomWindow:
        """Zoom the body's live view (its profile's zoom widget: Canon ``eoszoom``, Nikon
        ``liveviewimagezoomratio``). The body zooms on its own focus frame; focuslock
        does not move it (Canon's ``eoszoomposition`` takes sensor coordinates whose
        scale differs between bodies and is not verified here): frame the feature in the
        middle. Returns the window shown, taken as centred."""
        if zoom not in self._zooms_available:
            offered = ", ".join(f"{z:g}×" for z in self._zooms_available) or "none"
            raise NotSupportedError(f"{self.name} does not zoom live view {zoom:g}× from the computer (zooms: {offered}).")
        value = next((v for v in self.profile.zoom_values if _is_number(v) and float(v) == zoom), "1")
        self._write(self.profile.zoom_widget, value)
        self._zoom = value
        size = self._live_view_size or (1024, 680)
        window = ZoomWindow.centred_on(zoom, (size[0] / 2.0, size[1] / 2.0), size)
        self._zoom_window = None if zoom == 1.0 else window
        return window

    def set_setting(self, name: str, value: str) -> None:
        widget_name = self._widget_name(name)
        if widget_name is None or name not in self.capabilities.settings:
            raise SettingValueError(f"{self.name} has no setting called {name!r}.")
        widget = self._widget(widget_name)
        choices = ()
        try:
            choices = tuple(widget.get_choice(i) for i in range(widget.count_choices()))
        except Exception:
            pass
        if choices and value not in choices:
            matched = _match_choice(value, choices)
            if matched is None:
                raise SettingValueError(f"{value} is not among this camera's {name} values; choose one of {', '.join(choices)}.")
            value = matched
        self._write(widget_name, value)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_store_full(data: object) -> bool:
    # PTP event 0x400A is StoreFull (PTP 1.1, ISO 15740).
    return bool(re.search(r"PTP Event 400a", str(data), re.IGNORECASE))


def _summary_field(summary: str, field: str) -> str | None:
    match = re.search(rf"^{field}:\s*(.+)$", summary or "", re.MULTILINE)
    return match.group(1).strip() if match else None


def _match_choice(value: str, choices: tuple[str, ...]) -> str | None:
    """'8' finds 'f/8', '1/100' finds '0.0100s' and the like, by numeric value."""
    for parse in (_parse_f_number, _parse_shutter):
        wanted = parse(value)
        if wanted is None:
            continue
        for choice in choices:
            parsed = parse(choice)
            if parsed is not None and abs(parsed - wanted) <= 1e-3 * max(abs(wanted), 1e-9):
                return choice
    return None


def _parse_f_number(text: str) -> float | None:
    match = re.fullmatch(r"\s*(?:f/?)?\s*([0-9]+(?:\.[0-9]+)?)\s*", text, re.IGNORECASE)
    return float(match.group(1)) if match else None


def _parse_shutter(text: str) -> float | None:
    """'1/125', '0.0080s', '2"' or '2' as seconds."""
    text = text.strip().lower().removesuffix("s").rstrip('"').strip()
    try:
        if "/" in text:
            numerator, _, denominator = text.partition("/")
            return float(numerator) / float(denominator)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def _parse_float(text: str) -> float | None:
    match = re.search(r"-?[0-9]+(?:\.[0-9]+)?", text or "")
    return float(match.group(0)) if match else None


def _parse_int(text: str) -> int | None:
    value = _parse_float(text)
    return int(value) if value is not None else None


def virtual_camera_folder() -> str | None:
    """The folder libgphoto2's virtual camera serves, when one is switched on."""
    return os.environ.get("VCAMERADIR")
