"""What a body can do for focus and why not (focuslock.devices.body_report), per source.

libgphoto2's virtual camera is reported as it really answers (no live view, no focus-drive
or zoom widget); the simulated bench, a video file and a folder answer for themselves.
Bodies in situations the virtual camera cannot be put in (a Canon with its lens switch at
MF, a Nikon in MF, a Canon with its centre AF point selected) are the FAKE at the gphoto2
boundary (gphoto_boundary_fake.py) holding the widget values such a body reports, spelled
as libgphoto2 spells them (camlibs/ptp2/config.c: focusmode One Shot / AI Focus / AI Servo /
Manual; focusmode2 AF-S … MF (fixed); focusinfo "size=WxH,…,points={{x,y,w,h},…},select={…}"):
they stand in for bodies no test machine has. Everything above the boundary is real:
GPhotoCamera reads the widgets, the profiles' [[limits]] decide.
"""

from __future__ import annotations

import gc
import json

import pytest

from focuslock.cli import main
from focuslock.core.frames import FrameInfo
from focuslock.devices.body_report import Ability, Answer, Basis, MarkKind, SourceKind, body_report
from focuslock.devices.gphoto import GPhotoCamera
from focuslock.devices.profiles import ProfileError, load_profile
from focuslock.simulators.bench_config import BenchConfig
from focuslock.simulators.sim import SimulatedBench
from focuslock.workflows.body_reports import report_source
from tests.camera.gphoto_boundary_fake import FakeGPhoto2Body, FakeWidget, canon_r5_widgets
from tests.camera.test_contract import write_folder, write_video

# The AF points a Canon EOS Rebel T6 reports (nine, the middle one 224×222 of 5184×3456).
T6_POINTS = ("{0,743,117,181},{-839,393,172,129},{839,393,172,129},{-1394,0,172,129},{0,0,224,222},"
             "{1394,0,172,129},{-839,-393,172,129},{839,-393,172,129},{0,-743,117,181}")


def _focusinfo(selected: str) -> str:
    return f"eosversion=0,size=5184x3456,size2=5184x3456,points={{{T6_POINTS}}},select={{{selected}}},unknown={{1000000 0ffff}}"


def _canon(recorded_frames, **values) -> FakeGPhoto2Body:
    """A Canon EOS body in live view whose widgets read ``values`` (None: libgphoto2 has
    no such widget for it) — a stand-in for a body, see the module docstring."""
    widgets = {**canon_r5_widgets(),
               "focusmode": FakeWidget("focusmode", "One Shot", ("One Shot", "AI Focus", "AI Servo", "Manual")),
               "autoexposuremode": FakeWidget("autoexposuremode", "Manual", ("P", "TV", "AV", "Manual", "Bulb", "Movie")),
               "lensname": FakeWidget("lensname", "MP-E65mm f/2.8 1-5x Macro Photo"),
               "eoszoom": FakeWidget("eoszoom", "1"),
               "focusinfo": FakeWidget("focusinfo", _focusinfo(""))}
    for name, value in values.items():
        if value is None:
            widgets.pop(name, None)
        else:
            widgets[name] = FakeWidget(name, value, widgets[name].choices if name in widgets else ())
    return FakeGPhoto2Body(frames=recorded_frames, widgets=widgets)


@pytest.fixture
def recorded_frames(focus_stacks):
    """Real JPEG photographs (2048×1536, a 4:3 live view) standing in for a body's live view."""
    return [(focus_stacks / "pcb" / f"pcb_00{i}.jpg").read_bytes() for i in (1, 2)]


def _report_of(body: FakeGPhoto2Body, frames: int = 1):
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    try:
        for _ in range(frames):
            camera.read_frame()
        return body_report(camera), camera
    finally:
        camera.close()


# ------------------------------------------------------------ libgphoto2's virtual camera

def test_the_virtual_camera_is_reported_as_it_answers(capsys):
    gc.collect()
    assert main(["cameras", "--json"]) == 0
    [body] = json.loads(capsys.readouterr().out)
    abilities = body["report"]["abilities"]
    # It refuses capture_preview (-6): tried, and said so.
    assert abilities["live_view"]["answer"] == "does not work" and abilities["live_view"]["basis"] == "tried"
    assert "no live view" in abilities["live_view"]["reason"]
    # It is matched to the Nikon profile by its name, and has no manualfocusdrive widget.
    assert abilities["focus_drive"] == {"answer": "does not work", "basis": "read from the body", "reason":
                                        "libgphoto2 has no 'manualfocusdrive' widget for Nikon DSC D750, so focus cannot "
                                        "be driven from the computer: focus by hand or on a rail."}
    assert "'liveviewimagezoomratio'" in abilities["live_view_zoom"]["reason"]
    assert abilities["capture_in_live_view"]["answer"] == "does not work"
    assert body["report"]["camera_frames"] == []  # nothing drawn for it
    gc.collect()
    assert main(["cameras"]) == 0
    words = capsys.readouterr().out
    assert "focus drive: does not work — libgphoto2 has no 'manualfocusdrive' widget" in words
    assert "live view: does not work" in words


# --------------------------------------------------------------- sources that are not bodies

def test_a_video_or_a_folder_cannot_drive_focus_and_says_so(tmp_path, capsys):
    video = write_video(tmp_path / "take.avi")
    folder = write_folder(tmp_path / "shots")
    assert main(["cameras", "--source", f"video:{video}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "video file"
    assert report["abilities"]["focus_drive"]["reason"].startswith("A video file cannot drive focus: it shows what was recorded.")
    assert report["abilities"]["live_view"]["answer"] == "works"
    assert main(["cameras", "--source", f"folder:{folder}"]) == 0
    words = capsys.readouterr().out
    assert "focus drive: does not work — A folder of pictures cannot drive focus" in words
    assert "live-view zoom: does not work — A folder of pictures has no live-view zoom" in words


def _unreadable_first(folder, good: int):
    """A folder whose first files (in name order) cannot be read: a JPEG cut short, a text
    file named .jpg, a PNG that is only its first bytes; then ``good`` real pictures."""
    write_folder(folder, max(good, 1))
    whole = (folder / "shot_1.jpg").read_bytes()
    if not good:
        (folder / "shot_1.jpg").unlink()
    (folder / "a_cut.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "b_notes.jpg").write_text("not a picture\n")
    (folder / "c_start.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for index in range(good):
        (folder / f"shot_{index + 1}.jpg").rename(folder / f"d_shot_{index + 1}.jpg")
    return folder


def test_a_folder_whose_first_files_are_unreadable_is_reported_with_each_file(tmp_path, capsys):
    """The new user's audit: three unreadable files first gave no report (the three
    frames asked for all failed). Now: what it found, each file it could not read and
    why (a sentence each), and live view works from the pictures that read: exit 0."""
    folder = _unreadable_first(tmp_path / "shots", good=2)
    assert main(["cameras", "--source", f"folder:{folder}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [f"Image folder {folder}",
                         "  found: 5 image files, 2 read as pictures, 3 could not be read",
                         "  could not read: a_cut.jpg arrived cut short (a JPEG without its end marker).",
                         "  could not read: b_notes.jpg is not a readable image.",
                         f"  could not read: {lines[4].split(': ', 1)[1]}",
                         "  live view: works"], lines
    assert lines[4].startswith("  could not read: c_start.png ")
    assert main(["cameras", "--source", f"folder:{folder}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["found"][0] == "found: 5 image files, 2 read as pictures, 3 could not be read"
    assert report["abilities"]["live_view"]["answer"] == "works"


def test_a_folder_with_no_readable_picture_is_reported_then_refused(tmp_path, capsys):
    """Only unreadable files: the report still says which and why (stdout), then the
    source asked for gives no picture: one sentence on stderr, exit 1 (as --source
    gphoto2 with no body)."""
    folder = _unreadable_first(tmp_path / "shots", good=0)
    assert main(["cameras", "--source", f"folder:{folder}"]) == 1
    seen = capsys.readouterr()
    assert "  found: 3 image files, 0 read as pictures, 3 could not be read" in seen.out.splitlines()
    assert "  could not read: b_notes.jpg is not a readable image." in seen.out.splitlines()
    assert "capture in live view: does not work" in seen.out
    assert seen.err.splitlines() == [f"focuslock: None of the 3 image files in {folder} could be read as a picture (why, "
                                     "for each, is in the report)."]


def test_the_bench_works_and_reports_its_own_zoom_frame():
    bench = SimulatedBench(BenchConfig(live_view_size_px=(600, 400)))
    report = report_source(bench)
    assert all(report.works(ability) for ability in Ability)
    # Its 5× frame, centred in the 600×400 view: 120×80 at (240, 160).
    assert [(m.kind, m.box_px) for m in report.marks] == [(MarkKind.ZOOM, (240, 160, 120, 80))]
    bench.open()
    try:
        assert FrameInfo.of(bench.read_frame().metadata).camera_zoom_box_px == (240, 160, 120, 80)
        bench.set_live_view_zoom(5.0, (100.0, 100.0))  # zoomed near the corner: no frame inside the zoomed view
        assert FrameInfo.of(bench.read_frame().metadata).camera_zoom_box_px is None
        assert body_report(bench).marks == ()
        bench.set_live_view_zoom(1.0)  # back out: the frame is where it last zoomed, held inside the view
        assert FrameInfo.of(bench.read_frame().metadata).camera_zoom_box_px == (40, 60, 120, 80)
    finally:
        bench.close()


# ------------------------------------------------------------ bodies, from their widgets

def test_a_canon_with_its_lens_switch_at_mf_cannot_drive_focus(recorded_frames):
    report, _ = _report_of(_canon(recorded_frames, focusmode="Manual"))
    drive = report.of(Ability.FOCUS_DRIVE)
    assert drive.answer is Answer.DOES_NOT_WORK and drive.basis is Basis.READ
    assert "lens's AF/MF switch is at MF" in drive.reason and "libgphoto2" in drive.source
    assert report.works(Ability.LIVE_VIEW) and report.works(Ability.LIVE_VIEW_ZOOM)


def test_a_canon_at_af_in_live_view_drives_and_says_what_is_not_tried(recorded_frames):
    report, camera = _report_of(_canon(recorded_frames))
    assert report.kind is SourceKind.TETHERED and report.profile == "canon-eos"
    assert report.works(Ability.FOCUS_DRIVE)
    capture = report.of(Ability.CAPTURE_IN_LIVE_VIEW)
    assert capture.answer is Answer.UNKNOWN and "Not tried yet" in capture.reason  # the shutter never fires unasked
    # With the focus mode unreported, an MF lens switch cannot be seen: unknown, not "works".
    report, _ = _report_of(_canon(recorded_frames, focusmode=None))
    drive = report.of(Ability.FOCUS_DRIVE)
    assert drive.answer is Answer.UNKNOWN and "'focusmode'" in drive.reason


def test_a_canon_in_movie_mode_cannot_promise_a_still_from_live_view(recorded_frames):
    report, _ = _report_of(_canon(recorded_frames, autoexposuremode="Movie"))
    capture = report.of(Ability.CAPTURE_IN_LIVE_VIEW)
    assert capture.answer is Answer.UNKNOWN and "movie" in capture.reason and "M or P" in capture.reason


def test_a_canon_without_the_drive_widget_says_libgphoto2_lacks_it(recorded_frames):
    report, _ = _report_of(_canon(recorded_frames, manualfocusdrive=None))
    assert report.of(Ability.FOCUS_DRIVE).reason.startswith("libgphoto2 has no 'manualfocusdrive' widget for Canon EOS R5")


def test_a_nikon_in_mf_may_not_drive_and_says_so(recorded_frames):
    widgets = {"viewfinder": FakeWidget("viewfinder", "1"), "manualfocusdrive": FakeWidget("manualfocusdrive", "0"),
               "focusmode2": FakeWidget("focusmode2", "MF (fixed)", ("AF-S", "AF-C", "AF-A", "MF (fixed)", "MF (selection)")),
               "f-number": FakeWidget("f-number", "f/8")}
    body = FakeGPhoto2Body(frames=recorded_frames, widgets=widgets, summary="Manufacturer: Nikon Corporation\nModel: Z 7\n",
                           model_name="Nikon Z 7")
    report, _ = _report_of(body)
    drive = report.of(Ability.FOCUS_DRIVE)
    assert drive.answer is Answer.UNKNOWN and "MF" in drive.reason and "AF-S" in drive.reason
    # Nikon's zoom widget is absent on this body: said so, by name.
    assert "'liveviewimagezoomratio'" in report.of(Ability.LIVE_VIEW_ZOOM).reason


def test_a_refused_drive_is_reported_as_tried(recorded_frames):
    body = _canon(recorded_frames)
    body.failures["set_single_config"] = [-6]  # the body refuses the drive's write: not supported
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    try:
        camera.read_frame()
        with pytest.raises(Exception, match="(?i)support"):
            camera.drive_focus(1)
        drive = body_report(camera).of(Ability.FOCUS_DRIVE)
    finally:
        camera.close()
    assert drive.answer is Answer.DOES_NOT_WORK and drive.basis is Basis.TRIED


# -------------------------------------------------------------- the camera's own AF point

def test_a_canon_centre_af_point_is_placed_where_the_body_says(recorded_frames, focus_stacks):
    # A 4:3 live view of a 3:2 AF area: the AF point's place in it is not known, so not drawn.
    report, _ = _report_of(_canon(recorded_frames, focusinfo=_focusinfo("4")))
    assert report.marks == () and "another shape" in report.marks_note
    import cv2

    wide = cv2.imencode(".jpg", cv2.resize(cv2.imread(str(focus_stacks / "pcb" / "pcb_001.jpg")), (1024, 683)))[1].tobytes()
    body = _canon([wide], focusinfo=_focusinfo("4"))
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    try:
        camera.read_frame()
        frame = camera.read_frame()
        report = body_report(camera)
    finally:
        camera.close()
    # The middle point, 224×222 of 5184 px across, in a 1024 px live view: 44×44 at its middle.
    assert [(m.kind, m.box_px) for m in report.marks] == [(MarkKind.AF, (490, 320, 44, 44))]
    assert FrameInfo.of(frame.metadata).camera_af_box_px == (490, 320, 44, 44)
    # An off-centre point is not drawn: which way the offsets run is not verified.
    report, _ = _report_of(_canon([wide], focusinfo=_focusinfo("1")))
    assert report.marks == () and "off the middle" in report.marks_note
    report, _ = _report_of(_canon([wide], focusinfo=_focusinfo("")))
    assert report.marks == () and "no selected AF point" in report.marks_note


# ---------------------------------------------------------------- the profiles' limits

@pytest.mark.parametrize(("limit", "words"), [
    ('ability = "focus"\nreason = "x"\nsource = "y"', "'ability' is 'focus'"),
    ('ability = "focus_drive"\nreason = "x"', "'source'"),
    ('ability = "focus_drive"\nreason = "x"\nsource = "y"\nwidget = "focusmode"', "'widget' and 'values' go together"),
    ('ability = "focus_drive"\nreason = "x"\nsource = "y"\nanswer = "works"', "'answer'"),
], ids=["unknown ability", "no source", "widget without values", "a limit that works"])
def test_a_wrong_limit_in_a_profile_is_refused_naming_the_file(tmp_path, limit, words):
    path = tmp_path / "mine.toml"
    path.write_text(f'name = "Mine"\n[match]\nmanufacturer = ["Mine*"]\nmodel = ["*"]\n\n[[limits]]\n{limit}\n')
    with pytest.raises(ProfileError, match="mine.toml") as raised:
        load_profile(path)
    assert words in str(raised.value)


def test_a_capture_in_live_view_is_reported_as_tried_once_taken(recorded_frames, tmp_path):
    jpeg = recorded_frames[0]
    body = _canon(recorded_frames)
    body.capture_files = [("IMG_0001.JPG", jpeg, len(jpeg))]
    camera = GPhotoCamera(camera_factory=lambda: body)
    camera.open()
    try:
        camera.read_frame()
        assert body_report(camera).of(Ability.CAPTURE_IN_LIVE_VIEW).answer is Answer.UNKNOWN
        assert [p.name for p in camera.capture(tmp_path)] == ["IMG_0001.JPG"]
        capture = body_report(camera).of(Ability.CAPTURE_IN_LIVE_VIEW)
    finally:
        camera.close()
    assert capture.answer is Answer.WORKS and capture.basis is Basis.TRIED
