"""The hub's schema on PostgreSQL, as the migrations that build it.

A studio's stations send their shots to one PostgreSQL database, the hub; each station's
SQLite log stays the truth (``session/store.py``) and the hub holds a copy of every
shot's row, its files' paths and checksums (never the pictures) and two small previews
for the QC page. ``focuslock hub init URL`` applies what is missing
(:func:`focuslock.hub.connection.migrate`); each migration runs in its own transaction
with its row in ``hub_schema``; a hub migrated by a newer focuslock is refused.

Tables (version 1). Columns are only ever added, never renamed:

``hub_schema``
    ``version`` (PK), ``applied_utc``, ``focuslock`` (the version that applied it).
``stations``
    ``id`` (PK: the station's stable id, from its config folder or ``--station NAME``),
    ``name``, ``number`` (unique, from 1, given at registration: the station's block of
    offline SKU numbers, ``hub/numbers.py``), ``first_seen_utc``, ``last_seen_utc``.
``sessions``
    PK (``station_id``, ``session_key``: the key the station's log gave the session),
    ``name``, ``created_utc``, ``recipe_name``, ``coc_px`` and ``coc_um`` (what a shot's
    blur is weighed against), ``setup`` (jsonb: the rest of the setup's summary),
    ``first_synced_utc``.
``shots``
    PK (``station_id``, ``session_key``, ``sequence``: the station's own shot number in
    that session), so a resend is a no-op (``ON CONFLICT DO NOTHING``); ``id`` (bigint
    identity, unique: the order shots reached the hub, the QC page's cursor),
    ``logged_utc`` (on the station), ``received_utc`` (on the hub), ``name``, ``sku``,
    ``sku_number``, ``view``, ``verdict`` (``pass`` / ``soft`` / ``drift`` /
    ``uncertain``: ``session/verdict.py``), ``reason``, ``drift_px``, ``drift_share``,
    ``worst_coc_share``, ``camera`` and ``optics`` (jsonb), ``thumbnail_jpeg`` (at most
    48 KB) and ``crop_jpeg`` (the first feature at 100 %, at most 256 KB).
``shot_files``
    PK (station, session, sequence, ``path``); ``sha256``, ``size_bytes``, ``role``
    (``judged`` / ``companion``). Paths as the station logged them (relative to its
    session folder when inside it).
``feature_verdicts``
    PK (station, session, sequence, ``feature``); ``state``, ``reason``, ``blur_px``,
    ``blur_sd_px``, ``blur_um``, ``coc_share``, ``found_x_px``, ``found_y_px``, ``drift_px``.
``shot_list``
    PK (``list_date``, ``sku``); ``name``, ``views_expected``, ``view_names`` (text[]),
    ``imported_utc``: the studio's list for a day (``focuslock hub import-shotlist``).
``sku_sequences``
    ``sku`` (PK), ``last_number``: the hub's counter, advanced in a transaction.
``sku_numbers``
    PK (``sku``, ``number``): every number handed out or used, by whom (``station_id``)
    and how (``source``: ``hub`` or ``offline``) — a number is never given twice.

The trigger ``shots_notify`` sends ``pg_notify('focuslock_shots', json)`` for every new
shot row (``{"id", "station", "session", "sequence", "verdict"}``); a resend inserts
nothing and notifies nothing. ``shots_notify_replaced`` (version 3) sends the same with
``"replaced": true`` when a shot is set aside (``replaced_utc`` set), once. Listeners (the
QC page) ``LISTEN focuslock_shots``.
"""

from __future__ import annotations

__all__ = ["HUB_SCHEMA_VERSION", "MIGRATIONS", "NOTIFY_CHANNEL", "THUMBNAIL_MAX_BYTES", "CROP_MAX_BYTES"]

NOTIFY_CHANNEL = "focuslock_shots"
THUMBNAIL_MAX_BYTES = 48 * 1024
CROP_MAX_BYTES = 256 * 1024

# Each entry moves the schema one version up; never edit one that has shipped, add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: stations, sessions, shots with files and verdicts, the shot list, SKU numbers, the notify trigger.
    f"""
    CREATE TABLE stations (
        id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
        name text NOT NULL CHECK (length(name) <= 200),
        number integer NOT NULL UNIQUE CHECK (number BETWEEN 1 AND 9999),
        first_seen_utc timestamptz NOT NULL DEFAULT now(),
        last_seen_utc timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE sessions (
        station_id text NOT NULL REFERENCES stations(id),
        session_key text NOT NULL CHECK (length(session_key) BETWEEN 1 AND 200),
        name text NOT NULL,
        created_utc timestamptz NOT NULL,
        recipe_name text,
        coc_px double precision,
        coc_um double precision,
        setup jsonb NOT NULL DEFAULT '{{}}',
        first_synced_utc timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (station_id, session_key)
    );
    CREATE TABLE shots (
        id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        station_id text NOT NULL,
        session_key text NOT NULL,
        sequence integer NOT NULL CHECK (sequence >= 1),
        logged_utc timestamptz NOT NULL,
        received_utc timestamptz NOT NULL DEFAULT now(),
        name text NOT NULL,
        sku text,
        sku_number integer,
        view text,
        verdict text NOT NULL CHECK (verdict IN ('pass', 'soft', 'drift', 'uncertain')),
        reason text,
        drift_px double precision,
        drift_share double precision,
        worst_coc_share double precision,
        camera jsonb NOT NULL DEFAULT '{{}}',
        optics jsonb NOT NULL DEFAULT '{{}}',
        thumbnail_jpeg bytea CHECK (octet_length(thumbnail_jpeg) <= {THUMBNAIL_MAX_BYTES}),
        crop_jpeg bytea CHECK (octet_length(crop_jpeg) <= {CROP_MAX_BYTES}),
        PRIMARY KEY (station_id, session_key, sequence),
        FOREIGN KEY (station_id, session_key) REFERENCES sessions (station_id, session_key)
    );
    CREATE INDEX shots_by_sku ON shots (sku);
    CREATE INDEX shots_by_logged ON shots (logged_utc);
    CREATE TABLE shot_files (
        station_id text NOT NULL,
        session_key text NOT NULL,
        sequence integer NOT NULL,
        path text NOT NULL,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        role text NOT NULL CHECK (role IN ('judged', 'companion')),
        PRIMARY KEY (station_id, session_key, sequence, path),
        FOREIGN KEY (station_id, session_key, sequence) REFERENCES shots (station_id, session_key, sequence)
            ON DELETE CASCADE
    );
    CREATE INDEX shot_files_by_sha256 ON shot_files (sha256);
    CREATE TABLE feature_verdicts (
        station_id text NOT NULL,
        session_key text NOT NULL,
        sequence integer NOT NULL,
        feature integer NOT NULL CHECK (feature >= 0),
        state text NOT NULL,
        reason text,
        blur_px double precision,
        blur_sd_px double precision,
        blur_um double precision,
        coc_share double precision,
        found_x_px double precision,
        found_y_px double precision,
        drift_px double precision,
        PRIMARY KEY (station_id, session_key, sequence, feature),
        FOREIGN KEY (station_id, session_key, sequence) REFERENCES shots (station_id, session_key, sequence)
            ON DELETE CASCADE
    );
    CREATE TABLE shot_list (
        list_date date NOT NULL,
        sku text NOT NULL CHECK (length(sku) BETWEEN 1 AND 200),
        name text NOT NULL DEFAULT '',
        views_expected integer NOT NULL DEFAULT 1 CHECK (views_expected BETWEEN 0 AND 1000),
        view_names text[] NOT NULL DEFAULT '{{}}',
        imported_utc timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (list_date, sku)
    );
    CREATE TABLE sku_sequences (
        sku text PRIMARY KEY,
        last_number integer NOT NULL DEFAULT 0 CHECK (last_number >= 0)
    );
    CREATE TABLE sku_numbers (
        sku text NOT NULL,
        number integer NOT NULL CHECK (number >= 1),
        station_id text REFERENCES stations(id),
        source text NOT NULL CHECK (source IN ('hub', 'offline')),
        handed_utc timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (sku, number)
    );
    CREATE FUNCTION focuslock_notify_shot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object(
            'id', NEW.id, 'station', NEW.station_id, 'session', NEW.session_key,
            'sequence', NEW.sequence, 'verdict', NEW.verdict)::text);
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER shots_notify AFTER INSERT ON shots FOR EACH ROW EXECUTE FUNCTION focuslock_notify_shot();
    """,
    # 2: a shot set aside because its station judged its file again (check-archive): the
    # new verdict is a new shot; the old one stays as history, never counted for the day.
    """
    ALTER TABLE shots ADD COLUMN replaced_utc timestamptz;
    """,
    # 3: a shot set aside is notified too (``"replaced": true``), so that an open QC page
    # drops its card at once instead of at its next reload.
    f"""
    CREATE FUNCTION focuslock_notify_replaced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', json_build_object(
            'id', NEW.id, 'station', NEW.station_id, 'session', NEW.session_key,
            'sequence', NEW.sequence, 'replaced', true)::text);
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER shots_notify_replaced AFTER UPDATE OF replaced_utc ON shots FOR EACH ROW
        WHEN (OLD.replaced_utc IS NULL AND NEW.replaced_utc IS NOT NULL)
        EXECUTE FUNCTION focuslock_notify_replaced();
    """,
    # 4: the shot list's names as they were given. The first hub import-shotlist stored a
    # name that starts like a formula (= + - @ tab CR, not a plain number) with the CSV
    # guard's ' before it (io/csv_safe.py); only CSV output adds it now. That ' is taken
    # off where the rest is such a name (a name given with a ' of its own before a formula
    # cannot be told from it, and loses it).
    r"""
    UPDATE shot_list SET name = substr(name, 2)
        WHERE left(name, 1) = chr(39) AND substr(name, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
        AND substr(name, 2) !~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$';
    """,
)
HUB_SCHEMA_VERSION = len(MIGRATIONS)
