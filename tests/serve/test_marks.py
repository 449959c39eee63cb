"""``POST /api/marks/{name}/go`` on the bench: a mark set where the feature is sharp, focus
racked away, and the server drives back and finds best focus again (``mark go``'s workflow)."""

from __future__ import annotations

import pytest

from focuslock.client import FocusServerError
from focuslock.serve.server import start_server
from focuslock.simulators.demo import demo_view
from focuslock.simulators.sim import BenchConfig
from focuslock.workflows.marks import MarkStore, take_mark
from tests.serve.conftest import SIZE, Served, wait_for


@pytest.fixture
def served_with_marks(tmp_path):
    view = demo_view(BenchConfig(live_view_size_px=SIZE, capture_width_px=1024))
    running = start_server(view.bench, port=0, marks_folder=tmp_path / "marks")
    from focuslock.client import FocusClient

    try:
        wait_for(lambda: running.host.latest() is not None, what="a first frame")
        yield Served(running, view, FocusClient(running.url, timeout_s=60))
    finally:
        running.stop()


def test_going_back_to_a_mark_finds_the_feature_sharp_again(served_with_marks, tmp_path):
    served = served_with_marks
    served.focus_on_feature()
    session = served.running.host.session
    # The mark taken as `focuslock mark set` takes it, on the camera's thread, at the session's count.
    mark = session.submit(lambda camera: take_mark(camera, "A", tuple(served.roi), session.drive_position_steps)).result(60)
    MarkStore(tmp_path / "marks").save(mark)
    served.client.lock(served.roi)
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    served.client.drive(120)
    wait_for(lambda: served.client.status()["state"] in ("softening", "soft"), what="focus racked off the mark")
    assert served.client.wait_sharp(timeout_s=1)["sharp"] is False

    back = served.client.request("POST", "/api/marks/A/go", {"timeout_s": 100}, wait_s=100)
    assert back["name"] == "A" and abs(back["moved_from_mark_steps"]) < 10
    # The session's drive count followed the workflow's moves: the frames say where the drive is.
    wait_for(lambda: served.client.status()["drive_position_steps"] == back["position_steps"], what="the count followed")
    assert served.client.wait_sharp(timeout_s=20)["sharp"] is True
    assert MarkStore(tmp_path / "marks").drive_position(served.running.host.camera_name) == back["position_steps"]

    with pytest.raises(FocusServerError) as refused:
        served.client.request("POST", "/api/marks/nope/go", {})
    assert refused.value.status == 404


def test_a_stack_by_steps_shoots_each_slice_and_says_so_as_it_goes(served, tmp_path):
    served.focus_on_feature()
    with served.client.events() as events:
        shot = served.client.request("POST", "/api/stack", {"near_steps": 20, "far_steps": 20, "every_steps": 10},
                                     wait_s=120)
        progress = []
        while not progress or not progress[-1].get("done"):
            message = events.receive(timeout_s=30)
            if message["type"] == "stack":
                progress.append(message)
    assert shot["planned_slices"] == 5 and shot["slices"] == 5 and shot["stopped"] is None
    assert len(shot["files"]) == 5 and all(path.startswith(str(tmp_path / "captures")) for path in shot["files"])
    assert [m["slice"] for m in progress[:-1]] == [1, 2, 3, 4, 5] and progress[-1]["slices"] == 5
    # The session counted the stack's moves: from 20 nearer (less the backlash guard) to 20 farther.
    expected = round(served.view.best_steps) + 20
    wait_for(lambda: served.client.status()["drive_position_steps"] == expected, what=f"the drive count at {expected}")
    with pytest.raises(FocusServerError) as refused:
        served.client.request("POST", "/api/stack", {"near_steps": 0, "far_steps": 5000, "every_steps": 1})
    assert refused.value.status == 400 and "slices" in refused.value.message


def test_a_stack_from_one_mark_to_another_goes_back_to_the_nearer_and_ends_at_the_farther(served_with_marks, tmp_path):
    """``POST /api/stack {"from_mark", "to_mark"}`` as ``stack-shoot --from-mark --to-mark``:
    back to the nearer mark's best focus (found again from the picture), then slices up to
    the farther mark's position, the marks' drive count kept."""
    served = served_with_marks
    served.focus_on_feature()
    session = served.running.host.session
    store = MarkStore(tmp_path / "marks")
    near = session.submit(lambda camera: take_mark(camera, "near", tuple(served.roi), session.drive_position_steps)).result(60)
    store.save(near)
    served.client.drive(40)
    wait_for(lambda: served.client.status()["drive_position_steps"] == near.position_steps + 40, what="40 steps farther")
    far = session.submit(lambda camera: take_mark(camera, "far", tuple(served.roi), session.drive_position_steps)).result(60)
    store.save(far)
    served.client.drive(80)  # away from both: the stack must first go back to the nearer mark
    with served.client.events() as events:
        shot = served.client.request("POST", "/api/stack", {"from_mark": "far", "to_mark": "near", "every_steps": 10,
                                                            "timeout_s": 120}, wait_s=120)
        slices = []
        while not slices or not slices[-1].get("done"):
            message = events.receive(timeout_s=60)
            if message["type"] == "stack":
                slices.append(message)
    assert shot["stopped"] is None and shot["slices"] == shot["planned_slices"] >= 4
    assert [m["slice"] for m in slices[:-1]] == list(range(1, shot["slices"] + 1))
    # Ended at the farther mark's stored position, in the marks' count.
    assert store.drive_position(served.running.host.camera_name) == far.position_steps
    with pytest.raises(FocusServerError) as refused:
        served.client.request("POST", "/api/stack", {"from_mark": "near", "to_mark": "nope", "every_steps": 10})
    assert refused.value.status == 404
    with pytest.raises(FocusServerError) as refused:
        served.client.request("POST", "/api/stack", {"from_mark": "near", "near_steps": 5, "every_steps": 10})
    assert refused.value.status == 400
