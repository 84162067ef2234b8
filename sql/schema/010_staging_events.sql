-- staging_events: every record of the activity logs, as read.
-- Grain: one row per JSON line of a log file (source_file, source_line).
-- Fields keep the source's values, names in snake_case. VARCHAR widths count bytes of UTF-8 on Redshift;
-- the parser rejects a wider value on both warehouses (records.py declares the same widths).
-- start_time is ts (epoch ms, UTC) as a timestamp: computed by PostgreSQL, filled by Redshift's COPY
-- (TIMEFORMAT 'epochmillisecs' on a second copy of ts).
-- PostgreSQL: unlogged (staging is rebuilt from the sources at will, so it writes no WAL; a crash
-- empties it together with the ledger and the next load restages); the text the SQL sorts compares
-- byte by byte (COLLATE "C"), Redshift's order ("binary UTF8 ordering"), so ties break alike on both;
-- BRIN indexes on start_time and load_id (logs arrive day by day, loads one after another) find a day's
-- or a load's events without reading the rest, and cost next to nothing to keep.
-- Redshift: EVEN, as song is NULL on non-play events and would skew; sorted by ts (a text sort key's
-- zone maps see only its first 8 bytes, which every source_file shares).
CREATE TABLE staging_events (
    artist VARCHAR(1024),
    auth VARCHAR(32),
    first_name VARCHAR(256),
    gender VARCHAR(16),
    item_in_session INTEGER,
    last_name VARCHAR(256),
    length DOUBLE PRECISION,
    level VARCHAR(16),
    location VARCHAR(512),
    method VARCHAR(16),
    page VARCHAR(64),
    registration DOUBLE PRECISION,
    session_id BIGINT,
    song VARCHAR(1024),
    status INTEGER,
    ts BIGINT NOT NULL,
    user_agent VARCHAR(1024),
    user_id VARCHAR(64),
    -- postgres: start_time TIMESTAMP GENERATED ALWAYS AS (TIMESTAMP 'epoch' + ts * INTERVAL '1 ms') STORED,
    -- redshift: start_time TIMESTAMP,
    source_file VARCHAR(2048) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
-- redshift: DISTSTYLE EVEN SORTKEY (ts)
;

-- postgres: ALTER TABLE staging_events SET UNLOGGED;
-- postgres: ALTER TABLE staging_events ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN source_file TYPE VARCHAR(2048) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN song TYPE VARCHAR(1024) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN artist TYPE VARCHAR(1024) COLLATE "C";
-- postgres: CREATE INDEX staging_events_start_time ON staging_events USING brin (start_time);
-- postgres: CREATE INDEX staging_events_load ON staging_events USING brin (load_id);
