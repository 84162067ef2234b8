-- staging_events: every record of the activity logs, as read (Redshift).
-- Grain: one row per JSON line of a log file (source_file, source_line).
-- COPY fills start_time from the same ts (epoch ms, UTC) with TIMEFORMAT 'epochmillisecs'.
-- Keys: EVEN, as song is NULL on non-play events and would skew; sorted by file to find a reloaded file's rows.
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
    start_time TIMESTAMP,
    source_file VARCHAR(1024) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
DISTSTYLE EVEN
SORTKEY (source_file, source_line);
