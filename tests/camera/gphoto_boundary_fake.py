"""A FAKE camera at the gphoto2 boundary — for what no real part here can reach.

libgphoto2's virtual camera has no live view and no focus drive, and no body is on a
cable in CI. This stands where ``gphoto2.Camera`` would: it replays recorded live-view
frames (real JPEG photographs) from ``capture_preview()``, records every focus-drive
write, and raises real ``gphoto2.GPhoto2Error`` codes when told to, so that
:class:`focuslock.devices.gphoto.GPhotoCamera` runs its real code against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gphoto2


class FakeWidget:
    def __init__(self, name: str, value: str, choices: tuple[str, ...] = ()) -> None:
        self.name, self.value, self.choices = name, value, choices

    def get_value(self) -> str:
        return self.value

    def set_value(self, value) -> None:
        self.value = str(value)

    def count_choices(self) -> int:
        return len(self.choices)

    def get_choice(self, index: int) -> str:
        return self.choices[index]

    def get_label(self) -> str:
        return self.name

    def get_readonly(self) -> int:
        return 0


@dataclass
class _Preview:
    data: bytes

    def get_data_and_size(self) -> bytes:
        return self.data


@dataclass
class FakeGPhoto2Body:
    """Stands in for ``gphoto2.Camera`` of a body in live view. Not libgphoto2."""

    frames: list[bytes]
    summary: str = "Manufacturer: Canon Inc.\nModel: Canon EOS R5\n"
    model_name: str = "Canon EOS R5"
    port_name: str = "usb:002,007"
    widgets: dict[str, FakeWidget] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    # Error codes to raise, per method, one per call until the list is empty.
    failures: dict[str, list[int]] = field(default_factory=dict)
    on_call: Callable[[str], None] | None = None
    exited: bool = False
    # What one trigger_capture() makes: (camera file name, bytes, size the camera reports,
    # or None for a body that reports no size).
    capture_files: list[tuple[str, bytes, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    _next_frame: int = 0
    _events: list = field(default_factory=list)
    _files: dict = field(default_factory=dict)

    def _maybe_fail(self, method: str) -> None:
        if self.exited:
            raise AssertionError(f"{method}() called after exit(): libgphoto2 would crash here")
        if self.on_call is not None:
            self.on_call(method)
        codes = self.failures.get(method)
        if codes:
            raise gphoto2.GPhoto2Error(codes.pop(0))

    def init(self) -> None:
        self._maybe_fail("init")

    def exit(self) -> None:
        self._maybe_fail("exit")
        self.exited = True

    def get_summary(self):
        self._maybe_fail("get_summary")
        return type("Summary", (), {"text": self.summary})()

    def capture_preview(self):
        self._maybe_fail("capture_preview")
        data = self.frames[self._next_frame % len(self.frames)]
        self._next_frame += 1
        return _Preview(data)

    def get_single_config(self, name: str) -> FakeWidget:
        self._maybe_fail("get_single_config")
        if name not in self.widgets:
            raise gphoto2.GPhoto2Error(gphoto2.GP_ERROR_BAD_PARAMETERS)
        widget = self.widgets[name]
        return FakeWidget(widget.name, widget.value, widget.choices)

    def set_single_config(self, name: str, widget: FakeWidget) -> None:
        self._maybe_fail("set_single_config")
        self.writes.append((name, widget.value))
        self.widgets[name].value = widget.value

    def wait_for_event(self, timeout_ms: int):
        self._maybe_fail("wait_for_event")
        if self._events:
            return self._events.pop(0)
        return gphoto2.GP_EVENT_TIMEOUT, None

    def trigger_capture(self) -> None:
        """RAW+JPEG as bodies send it: two FILE_ADDED events, then CAPTURE_COMPLETE."""
        self._maybe_fail("trigger_capture")
        for name, data, size in self.capture_files:
            path = type("CameraFilePath", (), {"folder": "/store_00010001/DCIM/100CANON", "name": name})()
            self._files[name] = (data, size)
            self._events.append((gphoto2.GP_EVENT_FILE_ADDED, path))
        self._events.append((gphoto2.GP_EVENT_CAPTURE_COMPLETE, None))

    def file_get_info(self, folder: str, name: str):
        self._maybe_fail("file_get_info")
        size = self._files[name][1]
        fields = gphoto2.GP_FILE_INFO_SIZE if size is not None else 0
        file_info = type("FileInfo", (), {"fields": fields, "size": size or 0})()
        return type("CameraFileInfo", (), {"file": file_info})()

    def file_get(self, folder: str, name: str, kind: int):
        self._maybe_fail("file_get")
        return _Preview(self._files[name][0])

    def file_delete(self, folder: str, name: str) -> None:
        self._maybe_fail("file_delete")
        self.deleted.append(name)


def canon_r5_widgets() -> dict[str, FakeWidget]:
    return {
        "viewfinder": FakeWidget("viewfinder", "0", ("0", "1")),
        "manualfocusdrive": FakeWidget("manualfocusdrive", "None",
                                       ("Near 1", "Near 2", "Near 3", "None", "Far 1", "Far 2", "Far 3")),
        "aperture": FakeWidget("aperture", "5.6", ("2.8", "4", "5.6", "8", "11", "16")),
        "shutterspeed": FakeWidget("shutterspeed", "1/125", ("1/60", "1/125", "1/250")),
        "iso": FakeWidget("iso", "100", ("100", "200", "400")),
        "focallength": FakeWidget("focallength", "100"),
    }
