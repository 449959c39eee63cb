"""The day's list against the day's shots on a real hub: a SKU listed with view names is
done only when every named view has a passing shot (the audit's false all-clear: two
passes of the front made ``A300,front;back`` "done"), and ``hub status``, ``hub report``
and the QC page's ``/api/day`` all say so from the one ``day_list``. Shots land with the
station sync's own statements (``focuslock.testing.hub_shots``)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys

import psycopg

from focuslock.cli import main
from focuslock.hub.connection import open_hub
from focuslock.hub.queries import day_shots
from focuslock.serve.qc_json import read_day
from focuslock.testing.hub_shots import land_shot

TODAY = _dt.date.today()


def _list(hub_url, tmp_path, text: str) -> None:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    assert main(["hub", "import-shotlist", hub_url, str(path), "--date", TODAY.isoformat()]) == 0


def test_named_views_are_done_only_when_each_has_a_passing_shot(hub_url, tmp_path, capsys):
    assert main(["hub", "init", hub_url]) == 0
    _list(hub_url, tmp_path, "sku,name,views\nA300,Red cup,front;back\nB1,Lamp,Front;Top View\nC2,Mug,2\nA200,Bowl,1\n"
          "E1,Fork,1\nE2,Knife,1\n")
    for sequence, (name, verdict) in enumerate([
            ("A300_front.jpg", "pass"), ("A300_front_again.jpg", "pass"), ("A300-back.jpg", "soft"),
            ("B1_FRONT.jpg", "pass"), ("B1 top-view.jpg", "pass"),
            ("C2_1.jpg", "pass"), ("C2_1_again.jpg", "pass"), ("a200.jpg", "pass"), ("E1_E2.jpg", "pass")], start=1):
        land_shot(hub_url, "bench-2", sequence, name, None, verdict)
    with psycopg.connect(hub_url) as connection:  # a worst share a hair below 0: rounding noise
        connection.execute("UPDATE shots SET worst_coc_share = -1.47e-07 WHERE name = 'a200.jpg'")
    capsys.readouterr()
    assert main(["hub", "status", hub_url, "--json", "--date", TODAY.isoformat()]) == 0
    entries = {e["sku"]: e for e in json.loads(capsys.readouterr().out)["day"]["list"]}
    assert (entries["A300"]["state"], entries["A300"]["missing_views"], entries["A300"]["shots"]) == \
        ("short of views", ["back"], 3)  # the hyphened back shot is A300's, not misnamed
    assert (entries["B1"]["state"], entries["B1"]["missing_views"]) == ("done", [])
    assert (entries["C2"]["state"], entries["C2"]["views_told_apart"]) == ("done", False)
    assert entries["A200"]["state"] == "done"  # a200.jpg: the SKU in any case
    assert entries["E1"]["state"] == entries["E2"]["state"] == "done"  # one shot of both products
    assert main(["hub", "status", hub_url, "--date", TODAY.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "short of views: A300 (missing back)" in text and "views not told apart (list view names to check each): C2" in text
    out = tmp_path / "day.html"
    assert main(["hub", "report", hub_url, "--date", TODAY.isoformat(), "--out", str(out)]) == 0
    assert "missing back" in out.read_text(encoding="utf-8")
    with open_hub(hub_url) as connection:
        page = read_day(connection, TODAY).to_json()
    assert [(e["sku"], e["missing_views"]) for e in page["short_of_views"]] == [("A300", ["back"])]
    # The QC page shows the words hub status printed above, from the one place that says them.
    assert [e["views_said"] for e in page["short_of_views"]] == ["missing back"]
    assert page["misnamed"] == []
    with open_hub(hub_url) as connection:
        shown = {shot.name: shot.worst_coc_share for shot in day_shots(connection, TODAY)}
    assert shown["a200.jpg"] == 0.0 and shown["B1_FRONT.jpg"] > 0


def _hub_status(hub_url, day: str, *more: str) -> subprocess.CompletedProcess:
    """``hub status`` as a process whose local zone is UTC (the caller's day)."""
    return subprocess.run([sys.executable, "-m", "focuslock", "hub", "status", hub_url, "--date", day, *more],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, TZ="UTC"), check=False)


def test_a_day_is_the_caller_s_day_not_the_hub_server_s(hub_url, tmp_path):
    """The hub's database in Pacific/Kiritimati (UTC+14), the caller in UTC: a shot at
    23:30 UTC on the 6th is the 7th on the server, and the 6th for the caller."""
    assert main(["hub", "init", hub_url]) == 0
    with psycopg.connect(hub_url, autocommit=True) as connection:
        database = connection.info.dbname
        connection.execute(f'ALTER DATABASE "{database}" SET timezone = \'Pacific/Kiritimati\'')
    path = tmp_path / "list.csv"
    path.write_text("sku,name\nA1,Cup\nA2,Plate\n", encoding="utf-8")
    assert main(["hub", "import-shotlist", hub_url, str(path), "--date", "2026-12-06"]) == 0
    land_shot(hub_url, "bench", 1, "A1_front.jpg", None, "pass",
              logged_utc=_dt.datetime(2026, 12, 6, 23, 30, tzinfo=_dt.UTC))
    land_shot(hub_url, "bench", 2, "A2_front.jpg", None, "soft", session="old",
              logged_utc=_dt.datetime(2026, 12, 5, 12, 0, tzinfo=_dt.UTC))
    status = _hub_status(hub_url, "2026-12-06", "--json")
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert {e["sku"]: e["state"] for e in found["day"]["list"]} == {"A1": "done", "A2": "not shot"}
    assert found["verdicts"] == {"pass": 1, "soft": 0, "drift": 0, "uncertain": 0}  # the day's, not the hub's
    assert [(s["shots_on_day"], s["shots"]) for s in found["stations"]] == [(1, 2)]
    assert [s["name"] for s in found["sessions"]] == ["morning"]
    text = _hub_status(hub_url, "2026-12-05").stdout
    assert "1 shot, 0 pass, 1 soft" in text and "1 shot that day (2 all days)" in text, text
    assert "no shot list was imported for 2026-12-05" in text and "0 products" not in text, text
    assert "started 2026-12-05 12:00:00 UTC" in text, text  # in the caller's zone, named
