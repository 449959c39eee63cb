"""SKU numbers in names (``{seq}`` of the recipe's pattern) with a hub: two real
``focuslock capture --session`` processes at once on libgphoto2's virtual camera (it
stands in for a tethered body), one SKU. The hub hands out each number once; with the hub
stopped a station numbers in its own block (station number × 100 000 + k), and those
numbers reach the hub's register when it is back — never one twice."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg

from focuslock.cli import main
from tests.hub.stations import station_env


def _capture(tmp_path, url: str, station: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "focuslock", "capture", "--session", str(tmp_path / f"s-{station}"),
                             "--recipe", str(tmp_path / "r.toml"), "--sku", "A123", "--count", str(count), "--json",
                             "--hub", url, "--station", station], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=station_env(tmp_path / "cfg"))


def _names(process: subprocess.Popen) -> list[str]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return [shot["file"] for shot in json.loads(out)["shots"]]


def test_two_stations_never_get_the_same_number_online_or_offline(postgres_cluster, hub_url, tmp_path, capsys):
    from tests.conftest import VIRTUAL_CAMERA_JPEG

    assert main(["hub", "init", hub_url]) == 0
    assert main(["recipe", "save", str(tmp_path / "r.toml"), "--reference", str(VIRTUAL_CAMERA_JPEG),
                 "--roi", "50,180,440,100", "--coc-px", "4"]) == 0  # the default pattern: {session}_{sku}_{seq:04d}
    capsys.readouterr()
    stations = [_capture(tmp_path, hub_url, name, 4) for name in ("A", "B")]
    online = {name: _names(process) for name, process in zip(("A", "B"), stations, strict=True)}
    with psycopg.connect(hub_url) as connection:
        handed = connection.execute("SELECT number, station_id, source FROM sku_numbers WHERE sku = 'A123'").fetchall()
        numbers = dict(connection.execute("SELECT id, number FROM stations").fetchall())
    assert sorted(n for n, _, _ in handed) == list(range(1, 9))  # eight shots, eight numbers, none twice
    for name in ("A", "B"):
        mine = sorted(n for n, station, _ in handed if station == name)
        assert online[name] == [f"s-{name}_A123_{n:04d}.JPG" for n in mine]
    # The hub stops: station A goes on alone, in its own block.
    postgres_cluster.stop()
    try:
        offline = _names(_capture(tmp_path, hub_url, "A", 2))
    finally:
        postgres_cluster.start()
    block = numbers["A"] * 100_000
    assert offline == [f"s-A_A123_{block + 1}.JPG", f"s-A_A123_{block + 2}.JPG"]
    # Back online: the offline shots reach the hub with their numbers; B's next number is the hub's.
    assert len(_names(_capture(tmp_path, hub_url, "B", 1))) == 1
    assert len(_names(_capture(tmp_path, hub_url, "A", 1))) == 1  # sends A's outbox too
    with psycopg.connect(hub_url) as connection:
        handed = connection.execute("SELECT number, source FROM sku_numbers WHERE sku = 'A123' ORDER BY number").fetchall()
        names = [row[0] for row in connection.execute("SELECT name FROM shots")]
    assert handed == [(n, "hub") for n in range(1, 11)] + [(block + 1, "offline"), (block + 2, "offline")]
    assert len(names) == 12 and len(set(names)) == 12
