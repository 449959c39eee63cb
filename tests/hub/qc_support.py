"""Shots landing on a real hub for the QC page's tests: a station registered and a shot
sent with the station sync's own statements (``hub/numbers.register_station``,
``hub/send.send_session`` and ``send_batch``, in one transaction as the sync sends a
batch), its previews made from a real macro picture as a station makes them
(``session/previews.shot_previews``)."""

from __future__ import annotations

import csv
import datetime as _dt
import tempfile
import time
from pathlib import Path

import cv2

from focuslock.hub.connection import connect, migrate
from focuslock.hub.numbers import register_station
from focuslock.hub.send import send_batch, send_session
from focuslock.hub.shotlist import import_shot_list
from focuslock.hub.station import Station
from focuslock.session.outbox import OutboxShot, SessionFacts
from focuslock.session.previews import shot_previews
from focuslock.session.records import FeatureVerdict, LoggedShot, ShotRecord

STACK = Path(__file__).resolve().parents[1] / "data" / "focus-stacks" / "pcb"
# The feature the previews crop: a box on the pcb stack's pictures (file pixels).
FEATURE_BOX = (700, 420, 260, 180)


def wait_for(predicate, timeout_s: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not come within {timeout_s} s")


def shot_list(url: str, items: list[tuple[str, str]], day: _dt.date | None = None) -> None:
    """The day's shot list of (SKU, name) pairs, imported from a CSV as ``hub import-shotlist`` does."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([("sku", "name"), *items])
        import_shot_list(url, path, day or _dt.date.today())


def land_shot(url: str, station_name: str, sequence: int, name: str, sku: str | None, verdict: str,
              reason: str | None = None, picture: str = "pcb_004.jpg", session: str = "morning") -> None:
    """One shot sent to the hub by ``station_name`` in its session ``session``."""
    station = Station(id="id-" + station_name, name=station_name)
    now = _dt.datetime.now(_dt.UTC).isoformat()
    state = {"pass": "sharp", "soft": "soft", "uncertain": "uncertain", "drift": "sharp"}[verdict]
    x, y, w, h = FEATURE_BOX
    features = (FeatureVerdict(0, state, reason, blur_px=1.0, coc_share=0.4 if verdict == "pass" else 2.3,
                               found_px=(float(x), float(y))),)
    image = cv2.imread(str(STACK / picture))
    previews = shot_previews(image, features, [FEATURE_BOX])
    record = ShotRecord(name=name, files=(), verdict=verdict, reason=reason, features=features, sku=sku)
    with connect(url) as connection:
        number = register_station(connection, station)
        send_session(connection, station, SessionFacts(session, session, now, {}))
        send_batch(connection, station, number, session, [OutboxShot(LoggedShot(0, sequence, now, record), previews)])
        connection.commit()


def new_hub(cluster) -> str:
    url = cluster.create_database()
    migrate(url)
    return url
