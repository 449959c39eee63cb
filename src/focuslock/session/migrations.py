"""The shot log's schema, as the migrations that build it: ``PRAGMA user_version``
counts those applied; each runs in its own transaction with the version bump."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]

# Each entry moves the schema one version up; never edit one that has shipped, add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the shot log.
    """
    CREATE TABLE session (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        created_utc TEXT NOT NULL,
        name TEXT NOT NULL,
        setup_json TEXT NOT NULL
    );
    CREATE TABLE shots (
        id INTEGER PRIMARY KEY,
        sequence INTEGER NOT NULL UNIQUE,
        logged_utc TEXT NOT NULL,
        name TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'soft', 'drift', 'uncertain')),
        reason TEXT,
        drift_px REAL,
        drift_share REAL,
        camera_json TEXT NOT NULL DEFAULT '{}',
        optics_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE shot_files (
        id INTEGER PRIMARY KEY,
        shot_id INTEGER NOT NULL REFERENCES shots(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('judged', 'companion'))
    );
    CREATE INDEX shot_files_by_shot ON shot_files(shot_id);
    CREATE TABLE feature_verdicts (
        shot_id INTEGER NOT NULL REFERENCES shots(id) ON DELETE CASCADE,
        feature INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        blur_px REAL,
        blur_sd_px REAL,
        blur_um REAL,
        coc_share REAL,
        found_x_px REAL, found_y_px REAL,
        drift_px REAL,
        PRIMARY KEY (shot_id, feature)
    );
    """,
    # 2: the SKU (from a barcode, or typed) that named the shot.
    """
    ALTER TABLE shots ADD COLUMN sku TEXT;
    """,
    # 3: the studio's hub (hub/sync.py): the session's key on the hub, a shot's SKU number
    # (its name's {seq} with a hub), and the outbox each shot enters in its own transaction
    # when the station has a hub; sent_utc is set once the hub has committed the shot.
    """
    ALTER TABLE session ADD COLUMN session_key TEXT;
    ALTER TABLE shots ADD COLUMN sku_number INTEGER;
    CREATE TABLE hub_outbox (
        shot_id INTEGER PRIMARY KEY REFERENCES shots(id) ON DELETE CASCADE,
        queued_utc TEXT NOT NULL,
        sent_utc TEXT,
        thumbnail_jpeg BLOB,
        crop_jpeg BLOB
    );
    """,
    # 4: the shots that left the log because their file was judged again (check-archive):
    # the hub is told to set them aside, and their numbers are never given again.
    """
    CREATE TABLE hub_retractions (
        sequence INTEGER PRIMARY KEY,
        queued_utc TEXT NOT NULL,
        sent_utc TEXT
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """A migration's SQL statements, one by one."""
    return [s.strip() for s in script.split(";") if s.strip()]
