"""Fault injection around any Camera: what cables, bodies and cards do on set, on demand.

:func:`faulty_factory` wraps a camera factory (what :class:`~focuslock.runtime.live.LiveSession`
takes) so that every camera it makes misbehaves as told — to prove that the session,
the window and the commands survive what real sources do. Faults, each a probability
per call (or forced with :meth:`FaultyCamera.inject`):

* ``busy`` — the body answers "busy" (another program, a long exposure);
* ``disconnect`` — the cable is pulled while a frame is read (the session must
  reconnect with a new camera object);
* ``corrupt`` / ``truncated`` — the live-view JPEG arrives damaged or cut short; it goes
  through the real decoder (:func:`focuslock.io.limits.decode_image`) and fails there;
* ``resize`` — the body switches its live-view size;
* ``stall`` — no frame for a while (a USB hiccup, a long exposure);
* ``download`` — the cable is pulled between the files of one capture (a RAW saved,
  its JPEG not): the capture fails and must report the file it saved.

Used by the tests and by ``scripts/soak.py``. Not a mock of any device: the wrapped
camera is real and does everything that is not a fault.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from focuslock.core.frames import Frame
from focuslock.devices.base import Camera, CameraBusyError, CameraDisconnectedError, Capabilities, Setting
from focuslock.io.files import save_capture
from focuslock.io.limits import decode_image

__all__ = ["FAULT_KINDS", "FaultPlan", "FaultyCamera", "faulty_factory"]

FAULT_KINDS = ("busy", "disconnect", "corrupt", "truncated", "resize", "stall", "download")


@dataclass
class FaultPlan:
    """Probability of each fault per call (frames for the frame faults, captures for
    ``download``), the stall length, and a seed; ``counts`` tallies what was injected
    (shared by every camera the factory makes)."""

    probabilities: dict[str, float] = field(default_factory=dict)
    stall_s: float = 0.6
    seed: int = 0
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = set(self.probabilities) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault {sorted(unknown)[0]!r}; faults are {', '.join(FAULT_KINDS)}.")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, kind: str) -> bool:
        with self._lock:
            hit = self._rng.random() < self.probabilities.get(kind, 0.0)
            if hit:
                self.counts[kind] += 1
            return hit


class FaultyCamera:
    """A real camera with faults injected at its boundary (see the module's list)."""

    def __init__(self, inner: Camera, plan: FaultPlan) -> None:
        self.inner = inner
        self.plan = plan
        self.name = inner.name
        self._forced: list[str] = []
        self._scale = 1.0

    def inject(self, kind: str) -> None:
        """Force ``kind`` on the next call it applies to (tests)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault {kind!r}.")
        self._forced.append(kind)

    def _fault(self, kind: str) -> bool:
        if kind in self._forced:
            self._forced.remove(kind)
            self.plan.counts[kind] += 1
            return True
        return self.plan.draw(kind)

    # ------------------------------------------------------------------ Camera
    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def read_frame(self) -> Frame:
        if self._fault("stall"):
            time.sleep(self.plan.stall_s)
        if self._fault("busy"):
            raise CameraBusyError(f"{self.name} is busy (injected fault); live view resumes when it answers.")
        if self._fault("disconnect"):
            raise CameraDisconnectedError(f"{self.name} stopped answering (injected fault: cable pulled).")
        frame = self.inner.read_frame()
        if self._fault("resize"):
            self._scale = 0.75 if self._scale == 1.0 else 1.0
        image = frame.image
        if self._scale != 1.0:
            image = cv2.resize(image, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        damage = "corrupt" if self._fault("corrupt") else "truncated" if self._fault("truncated") else None
        if damage is not None:
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            data = bytearray(jpeg.tobytes())
            if damage == "truncated":
                data = data[: len(data) // 3]  # the transfer cut short
            else:
                data[2:66] = bytes(64)  # the headers after the start marker overwritten
            # The real decoder meets the damaged bytes and answers as it would for a body.
            decode_image(bytes(data), f"A live-view frame from {self.name}")
        if image is not frame.image:
            frame = Frame(frame.sequence, frame.timestamp_s, image, frame.metadata, frame.source)
        return frame

    def drive_focus(self, steps: int) -> int:
        if self._fault("busy"):
            raise CameraBusyError(f"{self.name} is busy (injected fault); the focus move was not made.")
        return self.inner.drive_focus(steps)

    def capture(self, folder: Path, name: Callable[[str], str] | None = None) -> list[Path]:
        if not self._fault("download"):
            return self.inner.capture(folder, name)
        # The body takes the picture; the cable goes after its first file reached the disk.
        with tempfile.TemporaryDirectory(prefix="focuslock-fault-") as staging:
            taken = self.inner.capture(Path(staging))
            saved = [save_capture(Path(folder), name(path.name) if name is not None else path.name, path.read_bytes())
                     for path in taken[:1]]
        raise self._cut_mid_download(saved)

    def _cut_mid_download(self, saved: list[Path]) -> CameraDisconnectedError:
        # Made here, not in a local of capture(): a raised exception bound to a local of
        # the frame it leaves is a cycle (exception, traceback, frame), and this one
        # would hold the camera until Python's rare full collection.
        error = CameraDisconnectedError(f"{self.name} stopped answering during the download (injected fault); "
                                        f"{len(saved)} file(s) were saved before it.")
        error.saved_paths = saved
        return error

    def get_settings(self) -> dict[str, Setting]:
        return self.inner.get_settings()

    def set_setting(self, name: str, value: str) -> None:
        if self._fault("busy"):
            raise CameraBusyError(f"{self.name} is busy (injected fault); {name} was not changed.")
        self.inner.set_setting(name, value)


def faulty_factory(factory: Callable[[], Camera], plan: FaultPlan) -> Callable[[], FaultyCamera]:
    """A factory making a :class:`FaultyCamera` around each new camera of ``factory``."""
    def make() -> FaultyCamera:
        return FaultyCamera(factory(), plan)

    return make

