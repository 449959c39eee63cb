"""``focuslock cameras``: every connected body (or one ``--source``) with its report of
what it can do for focus and why not (focuslock.devices.body_report).

A body is opened, asked for one live-view frame (so that the report says whether live
view works; the shutter never fires) and closed again, live view off where it needs
telling. A body that cannot be opened (held by another program, asleep) is listed with
the sentence that says why, and every ability unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from focuslock.devices.base import Camera, CameraError
from focuslock.devices.body_report import (
    Ability,
    AbilityReport,
    Answer,
    Basis,
    BodyReport,
    SourceKind,
    body_report,
    try_live_view,
)
from focuslock.devices.folder import FolderCamera
from focuslock.devices.gphoto_discovery import CameraInfo
from focuslock.runtime.sources import camera_factory

__all__ = ["ConnectedBody", "report_connected_bodies", "report_of", "report_source", "unusable"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectedBody:
    """A body libgphoto2 sees, and its report."""

    info: CameraInfo
    report: BodyReport

    def to_json(self) -> dict:
        return {**self.info.to_json(), "report": self.report.to_json()}


def report_source(camera: Camera) -> BodyReport:
    """Open ``camera``, try its live view, report it and close it."""
    try:
        return body_report(camera, try_live_view(camera))
    finally:
        camera.close()


def report_connected_bodies() -> list[ConnectedBody]:
    """Every body libgphoto2 sees, each opened in turn by its port and reported."""
    from focuslock.devices.gphoto import list_cameras

    bodies = []
    for info in list_cameras():
        camera = camera_factory(f"gphoto2:{info.port}")()
        try:
            report = report_source(camera)
        except CameraError as error:
            logger.info("could not open %s on %s: %s", info.model, info.port, error.user_message)
            report = _unopened(info, error.user_message)
        bodies.append(ConnectedBody(info, report))
    return bodies


def _unopened(info: CameraInfo, why: str) -> BodyReport:
    """A body that could not be opened: every ability unknown, and why."""
    reason = f"The body could not be opened: {why}"
    return BodyReport(f"{info.model} on {info.port}", SourceKind.TETHERED, info.profile,
                      tuple(AbilityReport(a, Answer.UNKNOWN, reason, Basis.TRIED) for a in Ability))


def report_of(source: str) -> BodyReport:
    """The report of a ``--source`` (sim, video:…, folder:…, gphoto2[:…]); a folder's
    files are surveyed first (what it holds, which files it cannot read and why). Whether
    the source can be used at all: :func:`unusable`."""
    camera = camera_factory(source, loop=False)()
    if isinstance(camera, FolderCamera):
        try:
            camera.survey()
        except CameraError:
            camera.close()
            raise
    return report_source(camera)


def unusable(report: BodyReport) -> str | None:
    """Why a source that is not a body gives no picture at all (a video or a folder with
    none it can read: a path that cannot be used, not a limit of a body), or None."""
    live = report.of(Ability.LIVE_VIEW)
    if report.kind is not SourceKind.TETHERED and live.answer is Answer.DOES_NOT_WORK:
        return live.reason
    return None
