"""The studio's shot list on a real hub: an untrusted CSV read strictly (each bad row one
sentence with its line, nothing written), a name that a spreadsheet would run kept as
text, the same list imported twice changing nothing; and ``hub status`` giving the day's
list from a real station's shots (``watch`` on a hot folder standing in for a body):
a SKU not shot, one shot SOFT, one misnamed."""

from __future__ import annotations

import json

import psycopg

from focuslock.cli import main
from tests.hub.stations import pictures, run, station_env, watch_command


def test_a_bad_list_is_refused_row_by_row_and_nothing_is_written(hub_url, tmp_path, capsys):
    assert main(["hub", "init", hub_url]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("SKU,Name,Views\nP1,Board,2\n=HYPERLINK(\"http://x\"),Evil,1\nP1,Again,1\nP4,Lens,=SUM(A1:A9)\n"
                   "P5,Cable,2000\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["hub", "import-shotlist", hub_url, str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err and "Traceback" not in err
    for line in ("line 3: the SKU", "line 4: the SKU P1 is listed already on line 2", "line 5: the views",
                 "line 6: 2000 views"):
        assert line in err, err
    with psycopg.connect(hub_url) as connection:
        assert connection.execute("SELECT COUNT(*) FROM shot_list").fetchone()[0] == 0
    (tmp_path / "none.csv").write_text("product,title\nP1,x\n")
    assert main(["hub", "import-shotlist", hub_url, str(tmp_path / "none.csv")]) == 1
    assert "no 'sku' column" in capsys.readouterr().err


def test_the_same_list_twice_changes_nothing_and_a_formula_stays_text(hub_url, tmp_path, capsys):
    assert main(["hub", "init", hub_url]) == 0
    good = tmp_path / "list.csv"
    good.write_text("\ufeffsku,name,views expected\nP1,Board,front;back\nP2,\"=cmd|' /C calc'!A0\",1\nP3,Lens,\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["hub", "import-shotlist", hub_url, str(good), "--date", "2026-12-08"]) == 0
    assert "3 products (3 new" in capsys.readouterr().out
    assert main(["hub", "import-shotlist", hub_url, str(good), "--date", "2026-12-08"]) == 0
    assert "3 products (0 new, 3 already listed)" in capsys.readouterr().out
    with psycopg.connect(hub_url) as connection:
        rows = connection.execute("SELECT sku, name, views_expected, view_names FROM shot_list ORDER BY sku").fetchall()
    assert rows == [("P1", "Board", 2, ["front", "back"]), ("P2", "'=cmd|' /C calc'!A0", 1, []), ("P3", "Lens", 1, [])]


def test_status_gives_the_day_s_list_not_shot_soft_and_misnamed(hub_url, tmp_path, capsys):
    env = station_env(tmp_path / "cfg")
    assert main(["hub", "init", hub_url]) == 0
    (tmp_path / "list.csv").write_text("sku,name,views\nP1,Board,1\nP2,Switch,1\nP3,Lens,1\n")
    assert main(["hub", "import-shotlist", hub_url, str(tmp_path / "list.csv")]) == 0
    hot = tmp_path / "hot"
    pictures(hot, "P1", 1, soft_every=0)  # P1_000.JPG: sharp
    pictures(hot, "P2", 1, soft_every=1, start=1)  # P2_001.JPG: soft
    pictures(hot, "X9", 1, soft_every=0, start=2)  # X9_002.JPG: not on the list
    station = run(watch_command(hot, tmp_path / "session", hub_url, "bench"), env)
    assert station.returncode == 0, station.stderr
    capsys.readouterr()
    assert main(["hub", "status", hub_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    states = {entry["sku"]: entry["state"] for entry in status["day"]["list"]}
    assert states == {"P1": "done", "P2": "soft or uncertain", "P3": "not shot"}
    assert [shot["name"] for shot in status["day"]["misnamed"]] == ["X9_002.JPG"]
    assert status["verdicts"] == {"pass": 2, "soft": 1, "drift": 0, "uncertain": 0}
    assert [(s["name"], s["shots"]) for s in status["stations"]] == [("bench", 3)]
    assert main(["hub", "status", hub_url]) == 0
    text = capsys.readouterr().out
    assert "not shot: P3" in text and "shot but SOFT or UNCERTAIN: P2" in text and "misnamed (no SKU of the list): X9_002.JPG" in text
