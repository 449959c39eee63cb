"""``check-archive --hub``: an archive checked on a real Dask cluster (started by the
command) into a session log that a real PostgreSQL hub receives, as a station's shots
are: every result on the hub once, with the thumbnail and crop made on the workers (the
pictures themselves never travel), and nothing sent twice when the run is repeated."""

from __future__ import annotations

import datetime as _dt
import sys

import cv2
import numpy as np
import psycopg
import pytest

from focuslock.cli import main
from focuslock.hub.queries import day_shots
from focuslock.testing.synthetic import degrade
from tests.hub.stations import COC_PX, DATA, ROI, hub_count, hub_rows, local_rows, pictures, run, session_key, station_env

# A Dask cluster takes the machine's cores: with the archive's other tests, one after another.
pytestmark = pytest.mark.xdist_group("dask-clusters")


def _recipe(tmp_path):
    rgb = cv2.resize(cv2.imread(str(DATA / "barcode.jpg")), (600, 450), interpolation=cv2.INTER_AREA)
    reference = tmp_path / "reference.png"
    cv2.imwrite(str(reference), degrade(rgb, 0.0, 2.0, seed=99_999))
    recipe = tmp_path / "board.toml"
    assert main(["recipe", "save", str(recipe), "--reference", str(reference), "--roi", ROI, "--coc-px", COC_PX,
                 "--name", "board"]) == 0
    return recipe


def test_an_archive_checked_with_a_hub_lands_on_the_hub_once_with_its_previews(hub_url, tmp_path):
    env = station_env(tmp_path / "cfg")
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], env).returncode == 0
    archive, session = tmp_path / "archive", tmp_path / "checks"
    pictures(archive, "OLD", 9)  # every third blurred past the CoC
    recipe = _recipe(tmp_path)
    command = [sys.executable, "-m", "focuslock", "check-archive", str(archive), "--recipe", str(recipe),
               "--session", str(session), "--workers", "1", "--hub", hub_url, "--station", "archive"]
    first = run(command, env)
    assert first.returncode == 0, first.stderr
    local = local_rows(session)
    assert len(local) == 9 and {row[2] for row in local} == {"pass", "soft"}
    assert hub_rows(hub_url, "archive", session_key(session)) == local
    with psycopg.connect(hub_url) as connection:
        previews = connection.execute("SELECT name, thumbnail_jpeg, crop_jpeg FROM shots").fetchall()
    for name, thumbnail, crop in previews:  # made where each picture was decoded: a worker
        assert thumbnail is not None and cv2.imdecode(np.frombuffer(bytes(thumbnail), np.uint8), cv2.IMREAD_COLOR) is not None, name
        assert crop is not None, name
    again = run(command, env)  # judged before: nothing judged, nothing sent again
    assert again.returncode == 0, again.stderr
    assert "9 skipped as judged before" in again.stdout
    assert hub_count(hub_url) == 9


def test_a_picture_judged_again_replaces_its_verdict_on_the_hub(hub_url, tmp_path):
    """A sharp picture checked into the hub (PASS), then blurred past the CoC and checked
    again: the hub must not keep counting the old PASS (a false all-clear for the day's
    list); it keeps it only as history, set aside, and counts the new SOFT."""
    env = station_env(tmp_path / "cfg")
    assert run([sys.executable, "-m", "focuslock", "hub", "init", hub_url], env).returncode == 0
    archive, session = tmp_path / "archive", tmp_path / "checks"
    names = pictures(archive, "D", 3, soft_every=0)  # all sharp
    command = [sys.executable, "-m", "focuslock", "check-archive", str(archive), "--recipe", str(_recipe(tmp_path)),
               "--session", str(session), "--workers", "1", "--hub", hub_url, "--station", "archive"]
    assert run(command, env).returncode == 0
    last = archive / names[-1]  # the last shot logged: its number would be given again without the fix
    picture = cv2.imread(str(last))
    cv2.imwrite(str(last), cv2.GaussianBlur(picture, (0, 0), 6.0), [cv2.IMWRITE_JPEG_QUALITY, 92])
    again = run(command, env)
    assert again.returncode == 0, again.stderr
    assert "replaces the earlier one" in again.stdout
    with psycopg.connect(hub_url) as connection:
        rows = connection.execute("SELECT name, verdict, replaced_utc IS NOT NULL FROM shots WHERE name = %s ORDER BY id",
                                  (last.name,)).fetchall()
        counted = [shot.verdict for shot in day_shots(connection, _dt.date.today()) if shot.name == last.name]
    assert rows == [(last.name, "pass", True), (last.name, "soft", False)]
    assert counted == ["soft"]  # the day's list, the QC page and the report count the new verdict alone
    assert [row[2] for row in local_rows(session)] == ["pass", "pass", "soft"]
