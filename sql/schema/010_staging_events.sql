-- staging_events: every record of the activity logs, as read.
-- Grain: one row per JSON line of a log file (source_file, source_line).
-- Fields keep the source's values, names in snake_case. VARCHAR widths count bytes of UTF-8 on Redshift;
-- the parser rejects a wider value on both warehouses (records.py declares the same widths).
-- start_time is ts (epoch ms, UTC) as a timestamp: computed by PostgreSQL, filled by Redshift's COPY
-- (TIMEFORMAT 'epochmillisecs' on a second copy of ts).
-- PostgreSQL: unlogged (staging is rebuilt from the sources at will, so it writes no WAL; a crash
-- empties it together with the ledger and the next load restages); user_id and source_file compare
-- byte by byte (COLLATE "C"), Redshift's order, so ties break alike on both.
-- Redshift: EVEN, as song is NULL on non-play events and would skew; sorted by file, as it is loaded.
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
    source_file VARCHAR(1024) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
-- redshift: DISTSTYLE EVEN SORTKEY (source_file, source_line)
;

-- postgres: ALTER TABLE staging_events SET UNLOGGED;
-- postgres: ALTER TABLE staging_events ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN source_file TYPE VARCHAR(1024) COLLATE "C";
