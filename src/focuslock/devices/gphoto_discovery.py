"""Which tethered body: the cameras libgphoto2 sees (each with the profile that would
drive it), the one a user named by port or model, that very one opened, and the
profile its summary calls for.

The gphoto2 module comes from :func:`focuslock.devices.gphoto.gphoto2_module`
(:mod:`.gphoto` is the only module that imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from focuslock.devices.base import CameraNotFoundError
from focuslock.devices.gphoto_errors import translate
from focuslock.devices.profiles import Profile, match_profile

__all__ = ["CameraInfo", "choose_camera", "choose_profile", "detect_cameras", "select_port"]


@dataclass(frozen=True)
class CameraInfo:
    """A camera libgphoto2 sees: its model, its port and the profile that would drive it."""

    model: str
    port: str
    profile: str

    def to_json(self) -> dict:
        return {"model": self.model, "port": self.port, "profile": self.profile}


def detect_cameras(gp: Any) -> list[CameraInfo]:
    """Every camera libgphoto2 (the module ``gp``) can see, with the profile that would drive it."""
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


def choose_camera(cameras: list[CameraInfo], wanted: str | None) -> CameraInfo:
    """The camera ``wanted`` names (a port or part of the model), or the only one
    connected; CameraNotFoundError in one sentence otherwise."""
    detected = [c for c in cameras if _matches(c, wanted)]
    if not detected:
        if wanted:
            raise CameraNotFoundError(f"No camera matching {wanted!r} is connected; check the cable and that the body is on.")
        raise CameraNotFoundError("No camera is connected; check the cable, that the body is on and in PC/tether mode.")
    if len(detected) > 1 and not wanted:
        names = ", ".join(f"{c.model} on {c.port}" for c in detected)
        raise CameraNotFoundError(f"Several cameras are connected ({names}); choose one by model or port.")
    return detected[0]


def select_port(gp: Any, camera: Any, info: CameraInfo) -> None:
    """Open exactly the camera that was chosen, not whichever libgphoto2 finds first."""
    ports = gp.PortInfoList()
    ports.load()
    abilities = gp.CameraAbilitiesList()
    abilities.load()
    camera.set_port_info(ports[ports.lookup_path(info.port)])
    camera.set_abilities(abilities[abilities.lookup_model(info.model)])


def choose_profile(info: CameraInfo, manufacturer: str, summary_model: str) -> Profile:
    """The profile for a body listed as ``info`` whose summary names ``manufacturer`` and
    ``summary_model``: the first specific one, else the manufacturer's fallback."""
    for model in (info.model, summary_model):
        profile = match_profile(manufacturer, model)
        if not profile.fallback:
            return profile
    return match_profile(info.model.split()[0] if info.model else "", info.model)
