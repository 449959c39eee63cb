"""One batch of a station's outbox written into the hub, in one PostgreSQL transaction.

Every row is keyed by the station, the session and the shot's sequence, and inserted
``ON CONFLICT DO NOTHING``: a batch sent again (the station killed after the hub's
COMMIT, before it marked the batch sent) adds nothing and notifies nothing. The cells of
a session log edited outside focuslock are sent as what they are, never as a verdict
they are not: a verdict the hub does not know is sent as ``uncertain`` with the reason.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import TYPE_CHECKING

from focuslock.hub.numbers import BLOCK, HUB_MAX
from focuslock.hub.station import Station
from focuslock.session.outbox import OutboxShot, SessionFacts

if TYPE_CHECKING:
    import psycopg

__all__ = ["send_batch", "send_retractions", "send_session"]

_VERDICTS = ("pass", "soft", "drift", "uncertain")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _when(text: str) -> _dt.datetime:
    try:
        when = _dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return _dt.datetime.now(_dt.UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)


def _text(value: str | None) -> str | None:
    """A text as PostgreSQL can keep it: it refuses NUL, which an edited log may hold."""
    return None if value is None else str(value).replace("\x00", "\ufffd")


def _json(value: dict):
    from psycopg.types.json import Jsonb

    return Jsonb(value, dumps=lambda v: json.dumps(v, sort_keys=True, default=str).replace("\\u0000", "\\ufffd"))


def _real(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def send_session(connection: psycopg.Connection, station: Station, facts: SessionFacts) -> None:
    """The session's row (once; a resend changes nothing), in the caller's transaction."""
    setup = facts.setup
    recipe = setup.get("recipe")
    recipe_name = recipe.get("name") if isinstance(recipe, dict) and isinstance(recipe.get("name"), str) else None
    coc_px, coc_um = setup.get("coc_px"), setup.get("coc_um")
    connection.execute(
        "INSERT INTO sessions (station_id, session_key, name, created_utc, recipe_name, coc_px, coc_um, setup) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (station.id, facts.key, _text(facts.name), _when(facts.created_utc), _text(recipe_name),
         _real(coc_px) if isinstance(coc_px, (int, float)) else None,
         _real(coc_um) if isinstance(coc_um, (int, float)) else None, _json(setup)))


def send_batch(connection: psycopg.Connection, station: Station, station_number: int, session_key: str,
               batch: list[OutboxShot]) -> int:
    """Insert the batch's shots with their files, verdicts and offline SKU numbers, in the
    caller's transaction; how many were new on the hub."""
    new = 0
    for item in batch:
        shot, record = item.shot, item.shot.record
        verdict, reason = record.verdict, record.reason
        if verdict not in _VERDICTS:
            verdict, reason = "uncertain", f"the station's log holds the verdict {str(verdict)[:40]!r}, which focuslock never writes"
        inserted = connection.execute(
            "INSERT INTO shots (station_id, session_key, sequence, logged_utc, name, sku, sku_number, verdict, reason, "
            "drift_px, drift_share, worst_coc_share, camera, optics, thumbnail_jpeg, crop_jpeg) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (station.id, session_key, shot.sequence, _when(shot.logged_utc), _text(record.name), _text(record.sku),
             record.sku_number, verdict, _text(reason), _real(record.drift_px), _real(record.drift_share),
             _real(record.worst_coc_share), _json(record.camera), _json(record.optics), item.previews.thumbnail_jpeg,
             item.previews.crop_jpeg)).fetchone()
        if inserted is None:
            continue  # already on the hub: sent before, its files and verdicts with it
        new += 1
        key = (station.id, session_key, shot.sequence)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO shot_files (station_id, session_key, sequence, path, sha256, size_bytes, role) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(*key, _text(f.path), f.sha256, f.size_bytes, f.role) for f in record.files
                 if _SHA256.fullmatch(f.sha256) and f.size_bytes is not None and f.role in ("judged", "companion")])
            cursor.executemany(
                "INSERT INTO feature_verdicts (station_id, session_key, sequence, feature, state, reason, blur_px, "
                "blur_sd_px, blur_um, coc_share, found_x_px, found_y_px, drift_px) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(*key, f.feature, _text(f.state), _text(f.reason), _real(f.blur_px), _real(f.blur_sd_px), _real(f.blur_um),
                  _real(f.coc_share), None if f.found_px is None else _real(f.found_px[0]),
                  None if f.found_px is None else _real(f.found_px[1]), _real(f.drift_px))
                 for f in record.features if isinstance(f.feature, int) and f.feature >= 0])
        number = record.sku_number
        if record.sku and number is not None and station_number * BLOCK < number <= station_number * BLOCK + HUB_MAX:
            connection.execute("INSERT INTO sku_numbers (sku, number, station_id, source) VALUES (%s, %s, %s, 'offline') "
                               "ON CONFLICT DO NOTHING", (_text(record.sku), number, station.id))
    connection.execute("UPDATE stations SET last_seen_utc = now() WHERE id = %s", (station.id,))
    return new


def send_retractions(connection: psycopg.Connection, station: Station, session_key: str, sequences: list[int]) -> int:
    """Set aside the station's shots of these sequences (replaced in its log: their file was
    judged again), in the caller's transaction; how many were set aside now. A shot never
    sent is simply not there; a retraction sent twice changes nothing."""
    if not sequences:
        return 0
    return connection.execute(
        "UPDATE shots SET replaced_utc = now() WHERE station_id = %s AND session_key = %s AND sequence = ANY(%s) "
        "AND replaced_utc IS NULL", (station.id, session_key, list(sequences))).rowcount
