"""``check-archive --hub``: an archive checked on a real Dask cluster (started by the
command) into a session log that a real PostgreSQL hub receives, as a station's shots
are: every result on the hub once, with the thumbnail and crop made on the workers (the
pictures themselves never travel), and nothing sent twice when the run is repeated."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import psycopg
import pytest

from focuslock.cli import main
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

