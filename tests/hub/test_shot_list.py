"""The studio's shot list on a real hub: an untrusted CSV read strictly (each bad row one
sentence with its line, nothing written), a name that a spreadsheet would run kept as
text (stored as given), the same list imported twice changing nothing; and ``hub status`` giving the day's
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
    # Stored as given: the guard against formulas is applied where a spreadsheet reads it (a CSV focuslock writes).
    assert rows == [("P1", "Board", 2, ["front", "back"]), ("P2", "=cmd|' /C calc'!A0", 1, []), ("P3", "Lens", 1, [])]


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


def _import(hub_url, path, capsys, *more: str) -> tuple[int, str, str]:
    code = main(["hub", "import-shotlist", hub_url, str(path), "--date", "2026-12-08", *more])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_header_and_rows_are_read_strictly(hub_url, tmp_path, capsys):
    """The audit's files: each refused in one sentence that says what is wrong, nothing written."""
    assert main(["hub", "init", hub_url]) == 0
    cases = {
        "sku,name,veiws\nC1,x,3\n": ["unknown column 'veiws'", "the known ones: sku, name, views"],
        "sku,sku,views\nC4,C5,1\n": ["'sku' given twice"],
        "sku,name,views\nC2,x,1,extra,more\n": ["line 2: 5 fields where the header has 3 columns"],
        'sku,name,views\nC3,=HYPERLINK("http://evil","x"),1\n': ["line 2: 4 fields where the header has 3"],
        "sku,name,views\nD1,x,-3\nD2,x,1.5\nD3,x,0\n": ["line 2: views '-3' is not a whole number",
                                                      "line 3: views '1.5'", "line 4: views '0'"],
        "sku,name\nAB_12,x\nX.100,x\nQ 7,x\n": [f"line {n}: the SKU" for n in (2, 3, 4)] + ["could never be found"],
        "": ["it is empty"],
        "sku;name;views\nE1;x;1\n": ["its first line is 'sku;name;views'", "separated by ';'"],
    }
    for number, (text, said) in enumerate(cases.items()):
        path = tmp_path / f"case{number}.csv"
        path.write_text(text, encoding="utf-8")
        code, _, err = _import(hub_url, path, capsys)
        assert code == 1 and "Traceback" not in err, (text, err)
        for words in said:
            assert words in err, (text, err)
        if not text or ";" in text.splitlines()[0]:
            assert "(its columns: sku" not in err, err  # never the expected columns as if they were the file's
    with psycopg.connect(hub_url) as connection:
        assert connection.execute("SELECT COUNT(*) FROM shot_list").fetchone()[0] == 0


def test_a_view_word_is_a_view_one_product_is_singular_and_a_dropped_sku_is_said(hub_url, tmp_path, capsys):
    assert main(["hub", "init", hub_url]) == 0
    first = tmp_path / "bom.csv"
    first.write_text("sku,name,views\nB1,+1 Mug,abc\n", encoding="utf-8")
    code, out, err = _import(hub_url, first, capsys)
    assert code == 0, err
    assert "1 product (1 new" in out
    second = tmp_path / "good.csv"
    second.write_text("sku,name\nG1,x\nG2,y\n", encoding="utf-8")
    code, out, _ = _import(hub_url, second, capsys)
    assert code == 0 and "2 products (2 new, 0 already listed)" in out
    assert "dropped from the day's list" in out and "B1" in out, out
    first.write_text("sku,name,views\nB1,+1 Mug,abc\nG1,x\n", encoding="utf-8")
    _import(hub_url, first, capsys)
    with psycopg.connect(hub_url) as connection:
        rows = connection.execute("SELECT sku, name, views_expected, view_names FROM shot_list ORDER BY sku").fetchall()
    assert rows == [("B1", "+1 Mug", 1, ["abc"]), ("G1", "x", 1, [])]  # the name as given, the word a view's name


def test_names_an_older_hub_stored_with_the_csv_guard_are_given_back_as_they_were(hub_url, capsys, monkeypatch):
    """The first ``hub import-shotlist`` stored a formula-looking name with the CSV guard's
    ``'`` before it (the database then said ``'=SUM(A1)`` where the list said ``=SUM(A1)``,
    and CSV output guarded it twice). Schema 4 takes that ``'`` off, only where the
    first code added it. The older hub is built by the real migrations up to schema 3,
    its rows as that code stored them."""
    import focuslock.hub.connection as connection_module

    monkeypatch.setattr(connection_module, "HUB_SCHEMA_VERSION", 3)
    assert connection_module.migrate(hub_url) == (0, 3)
    monkeypatch.undo()
    stored = {"P1": "'=SUM(A1:A9)", "P2": "'+1 555 cup", "P3": "'-flat lens", "P4": "'@home", "P5": "'-5",
              "P6": "'quoted", "P7": "Tom's mug", "P8": "-5", "P9": "'\tsheet"}
    with psycopg.connect(hub_url) as connection:
        connection.cursor().executemany("INSERT INTO shot_list (list_date, sku, name) VALUES ('2026-12-08', %s, %s)",
                                        list(stored.items()))
    assert main(["hub", "init", hub_url]) == 0
    with psycopg.connect(hub_url) as connection:
        names = dict(connection.execute("SELECT sku, name FROM shot_list").fetchall())
    assert names == {"P1": "=SUM(A1:A9)", "P2": "+1 555 cup", "P3": "-flat lens", "P4": "@home",
                     # '-5 was never made by the guard (a plain number passes it): a ' of the user's own, kept.
                     "P5": "'-5", "P6": "'quoted", "P7": "Tom's mug", "P8": "-5", "P9": "\tsheet"}
    capsys.readouterr()
    assert main(["hub", "status", hub_url, "--date", "2026-12-08", "--json"]) == 0
    listed = {e["sku"]: e["name"] for e in json.loads(capsys.readouterr().out)["day"]["list"]}
    assert listed["P1"] == "=SUM(A1:A9)"
