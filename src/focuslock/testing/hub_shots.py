"""Shots landing on a real hub, for tests and scripts (the QC page's): a station
registered and one shot sent with the station sync's own statements
(``hub/numbers.register_station``, ``hub/send.send_session`` and ``send_batch``, in one
transaction as the sync sends a batch), its previews made from a picture as a station
makes them (``session/previews.shot_previews``); the day's list imported from a CSV as
``hub import-shotlist`` does."""

from __future__ import annotations

import csv
import datetime as _dt
import tempfile
from pathlib import Path

import cv2

from focuslock.hub.connection import connect
from focuslock.hub.numbers import register_station
from focuslock.hub.send import send_batch, send_retractions, send_session
from focuslock.hub.shotlist import import_shot_list
from focuslock.hub.station import Station
from focuslock.session.outbox import OutboxShot, SessionFacts
from focuslock.session.previews import shot_previews
from focuslock.session.records import FeatureVerdict, LoggedShot, ShotFile, ShotPreviews, ShotRecord

__all__ = ["FEATURE_BOX", "land_shot", "replace_shot", "shot_list"]

# The feature the previews crop (file pixels): a detailed place on the repository's pcb stack.
FEATURE_BOX = (700, 420, 260, 180)
_STATES = {"pass": "sharp", "soft": "soft", "uncertain": "uncertain", "drift": "sharp"}


def shot_list(url: str, items: list[tuple[str, str]], day: _dt.date | None = None) -> None:
    """The day's shot list of (SKU, name) pairs, imported from a CSV as ``hub import-shotlist`` does."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([("sku", "name"), *items])
        import_shot_list(url, path, day or _dt.date.today())


def land_shot(url: str, station_name: str, sequence: int, name: str, sku: str | None, verdict: str,
              reason: str | None = None, picture: Path | None = None, session: str = "morning",
              files: tuple[ShotFile, ...] = (), logged_utc: _dt.datetime | None = None) -> None:
    """One shot of ``picture`` (no previews without one) sent to the hub by ``station_name`` in its session ``session``,
    with the logged ``files`` (none by default), logged at ``logged_utc`` (default: now)."""
    station = Station(id="id-" + station_name, name=station_name)
    now = (logged_utc or _dt.datetime.now(_dt.UTC)).isoformat()
    x, y, _, _ = FEATURE_BOX
    features = (FeatureVerdict(0, _STATES[verdict], reason, blur_px=1.0, coc_share=0.4 if verdict == "pass" else 2.3,
                               found_px=(float(x), float(y))),)
    image = None if picture is None else cv2.imread(str(picture))
    previews = shot_previews(image, features, [FEATURE_BOX])
    record = ShotRecord(name=name, files=files, verdict=verdict, reason=reason, features=features, sku=sku)
    with connect(url) as connection:
        number = register_station(connection, station)
        send_session(connection, station, SessionFacts(session, session, now, {}))
        send_batch(connection, station, number, session, [OutboxShot(LoggedShot(0, sequence, now, record), previews)])
        connection.commit()


def replace_shot(url: str, station_name: str, replaced: int, sequence: int, name: str, sku: str | None, verdict: str,
                 reason: str | None = None, session: str = "morning") -> None:
    """The shot ``replaced`` of ``station_name``'s session judged again (as ``check-archive``
    does a changed file): the old row set aside and the new verdict a new shot ``sequence``,
    in one transaction as the station's sync sends them."""
    station = Station(id="id-" + station_name, name=station_name)
    record = ShotRecord(name=name, files=(), verdict=verdict, reason=reason, sku=sku)
    now = _dt.datetime.now(_dt.UTC).isoformat()
    with connect(url) as connection:
        number = register_station(connection, station)
        send_retractions(connection, station, session, [replaced])
        send_batch(connection, station, number, session, [OutboxShot(LoggedShot(0, sequence, now, record), ShotPreviews())])
        connection.commit()
