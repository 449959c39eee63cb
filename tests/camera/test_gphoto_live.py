"""Live view, focus drive and faults of a tethered body. The body is the FAKE at the
gphoto2 boundary (gphoto_boundary_fake.py) replaying real photographs; everything above
it — GPhotoCamera, the profile, the live session and its reconnection — is real."""

from __future__ import annotations

import time

import pytest

from focuslock.devices.base import CameraBusyError
from focuslock.devices.gphoto import GPhotoCamera
from focuslock.runtime.live import LiveSession
from tests.camera.gphoto_boundary_fake import FakeGPhoto2Body, canon_r5_widgets

gphoto2 = pytest.importorskip("gphoto2")


@pytest.fixture
def recorded_frames(focus_stacks):
    """Real JPEG photographs standing in for a body's live-view stream."""
    return [(focus_stacks / "pcb" / f"pcb_00{i}.jpg").read_bytes() for i in (1, 2, 3)]


def _fake(frames, **kwargs) -> FakeGPhoto2Body:
    return FakeGPhoto2Body(frames=frames, widgets=canon_r5_widgets(), **kwargs)


def test_live_view_frames_and_settings_metadata(recorded_frames):
    body = _fake(recorded_frames)
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    assert camera.profile.key == "canon-eos"
    frames = [camera.read_frame() for _ in range(4)]
    assert [f.sequence for f in frames] == [0, 1, 2, 3]
    assert frames[0].image.shape == (1536, 2048, 3)
    assert frames[0].metadata["f_number"] == 5.6 and frames[0].metadata["exposure_s"] == pytest.approx(1 / 125)
    assert frames[0].metadata["focal_length_mm"] == 100
    camera.close()
    # Live view switched off again on close (Canon: viewfinder = 0), then exit.
    assert body.writes[-1] == ("viewfinder", "0") and body.exited


def test_canon_focus_drive_writes_near_far_with_none_between(recorded_frames):
    body = _fake(recorded_frames)
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    assert camera.capabilities.focus_drive
    assert camera.drive_focus(-2) == -2
    assert camera.drive_focus(9) == 9
    drive = [value for name, value in body.writes if name == "manualfocusdrive"]
    assert drive == ["Near 1", "None", "Near 1", "None", "Far 2", "None", "Far 1", "None"]
    camera.close()


def test_a_body_held_by_the_desktop_says_how_to_free_it(recorded_frames):
    body = _fake(recorded_frames, failures={"init": [-53]})
    with pytest.raises(CameraBusyError, match=r"Run `gio mount -s gphoto2`"):
        GPhotoCamera(camera_factory=lambda: body).open()


def test_busy_is_retried_with_back_off_then_reported(recorded_frames):
    body = _fake(recorded_frames, failures={"capture_preview": [-110, -110]})
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    started = time.monotonic()
    assert camera.read_frame().sequence == 0  # two busy answers, then a frame
    assert time.monotonic() - started >= 0.15 - 0.01
    body.failures["capture_preview"] = [-110] * 10
    with pytest.raises(CameraBusyError, match="stayed busy while reading live view"):
        camera.read_frame()
    camera.close()


def test_a_vanished_camera_reconnects_with_a_new_object_and_resumes(recorded_frames):
    bodies: list[FakeGPhoto2Body] = []
    plugged = {"in": True}

    def factory():
        body = _fake(recorded_frames)
        if not plugged["in"]:
            body.failures["init"] = [-52]  # not found while unplugged
        bodies.append(body)
        return GPhotoCamera(camera_factory=lambda: body)

    with LiveSession(factory) as session:
        assert session.next_analysis(5.0) is not None
        bodies[-1].failures["capture_preview"] = [-7]  # I/O error: the cable is pulled
        plugged["in"] = False
        deadline = time.monotonic() + 5
        while session.status.state != "reconnecting" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert session.status.state == "reconnecting"
        assert "reconnecting" in session.status.message
        time.sleep(0.3)
        plugged["in"] = True
        deadline = time.monotonic() + 10
        while session.status.state != "live" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.status.state == "live"
        assert session.next_analysis(5.0) is not None
    # The first body was closed and never called again; a new one serves live view now.
    assert bodies[0].exited
    assert len(bodies) >= 3 and bodies[-1] is not bodies[0]
    messages = [event.message for event in session.events()]
    assert any("stopped answering while reading live view" in m for m in messages)
    assert any(m.startswith("Reconnected to") for m in messages)


def test_raw_plus_jpeg_both_arrive_with_safe_names_and_are_deleted_only_once_verified(recorded_frames, tmp_path):
    raw = b"II*\x00fake CR3 payload" * 1000
    jpeg = recorded_frames[0]
    body = _fake(recorded_frames, capture_files=[("IMG_0001.CR3", raw, len(raw)), ("../../IMG 0001:1.JPG", jpeg, len(jpeg))])
    camera = GPhotoCamera(camera_factory=lambda: body, delete_after_download=True)
    camera.open()
    paths = camera.capture(tmp_path / "session")
    camera.close()
    assert [p.name for p in paths] == ["IMG_0001.CR3", "IMG_0001_1.JPG"]  # no path escapes the folder
    assert all(p.parent == tmp_path / "session" for p in paths)
    assert paths[0].read_bytes() == raw and paths[1].read_bytes() == jpeg
    assert body.deleted == ["IMG_0001.CR3", "../../IMG 0001:1.JPG"]


def test_a_short_download_is_refused_and_stays_on_the_camera(recorded_frames, tmp_path):
    jpeg = recorded_frames[0]
    body = _fake(recorded_frames, capture_files=[("IMG_0002.JPG", jpeg[:1000], len(jpeg))])
    camera = GPhotoCamera(camera_factory=lambda: body, delete_after_download=True)
    camera.open()
    from focuslock.devices.base import CameraError

    with pytest.raises(CameraError, match=f"arrived with 1000 of {len(jpeg)} bytes; it stays on the camera"):
        camera.capture(tmp_path / "session")
    camera.close()
    assert body.deleted == []
    assert not (tmp_path / "session" / "IMG_0002.JPG").exists()


def test_live_view_size_is_a_setting_where_the_body_offers_a_choice(recorded_frames):
    widgets = canon_r5_widgets()
    from tests.camera.gphoto_boundary_fake import FakeWidget

    widgets["liveviewsize"] = FakeWidget("liveviewsize", "Large", ("Large", "Medium", "Small"))
    body = FakeGPhoto2Body(frames=recorded_frames, widgets=widgets)
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    assert "liveviewsize" in camera.capabilities.settings
    camera.set_setting("liveviewsize", "Medium")
    assert camera.get_settings()["liveviewsize"].value == "Medium"
    camera.close()


def test_without_a_size_from_the_body_a_cut_jpeg_is_refused_and_stays_on_the_card(recorded_frames, tmp_path):
    jpeg = recorded_frames[0]
    # The body reports no size and sends 10 of the file's bytes in every 30 (a cut transfer).
    body = _fake(recorded_frames, capture_files=[("IMG_0003.JPG", jpeg[: len(jpeg) // 3], None)])
    camera = GPhotoCamera(camera_factory=lambda: body, delete_after_download=True)
    camera.open()
    from focuslock.devices.base import CameraError

    with pytest.raises(CameraError, match="arrived cut short .* it stays on the camera"):
        camera.capture(tmp_path / "session")
    camera.close()
    assert body.deleted == []
    assert not (tmp_path / "session").exists() or not any((tmp_path / "session").iterdir())


def test_without_a_size_a_whole_file_read_twice_alike_is_kept_and_then_deleted(recorded_frames, tmp_path):
    jpeg = recorded_frames[1]
    body = _fake(recorded_frames, capture_files=[("IMG_0004.JPG", jpeg, None)])
    camera = GPhotoCamera(camera_factory=lambda: body, delete_after_download=True)
    camera.open()
    [path] = camera.capture(tmp_path / "session")
    camera.close()
    assert path.read_bytes() == jpeg and body.deleted == ["IMG_0004.JPG"]


def test_a_file_saved_before_a_later_one_failed_is_still_reported(recorded_frames, tmp_path):
    raw = b"II*\x00fake CR3 payload" * 1000
    jpeg = recorded_frames[0]
    body = _fake(recorded_frames, capture_files=[("IMG_0005.CR3", raw, len(raw)), ("IMG_0005.JPG", jpeg, len(jpeg))])
    reads = []

    def pull_the_cable_on_the_second_file(method: str) -> None:
        if method == "file_get":
            reads.append(method)
            if len(reads) == 2:
                body.failures["file_get"] = [gphoto2.GP_ERROR_IO_USB_FIND]

    body.on_call = pull_the_cable_on_the_second_file
    camera = GPhotoCamera(camera_factory=lambda: body, delete_after_download=True)
    camera.open()
    from focuslock.devices.base import CameraError

    with pytest.raises(CameraError) as raised:
        camera.capture(tmp_path / "session")
    camera.close()
    # The RAW was verified, saved and deleted from the card: it must not vanish from the lists.
    assert body.deleted == ["IMG_0005.CR3"]
    assert raised.value.saved_paths == [tmp_path / "session" / "IMG_0005.CR3"]
    assert camera.downloaded == raised.value.saved_paths
    assert raised.value.saved_paths[0].read_bytes() == raw
