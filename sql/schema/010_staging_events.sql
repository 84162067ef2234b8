-- staging_events: every record of the activity logs, as read.
-- Grain: one row per JSON line of a log file (source_file, source_line).
-- Fields keep the source's values, names in snake_case; start_time is ts (epoch ms, UTC) as a timestamp.
-- The load bookkeeping columns (source_file, source_line, load_id) let a changed file be replaced.
CREATE TABLE staging_events (
    artist TEXT,
    auth TEXT,
    first_name TEXT,
    gender TEXT,
    item_in_session INTEGER,
    last_name TEXT,
    length DOUBLE PRECISION,
    level TEXT,
    location TEXT,
    method TEXT,
    page TEXT,
    registration DOUBLE PRECISION,
    session_id BIGINT,
    song TEXT,
    status INTEGER,
    ts BIGINT NOT NULL,
    user_agent TEXT,
    user_id TEXT,
    start_time TIMESTAMP GENERATED ALWAYS AS (TIMESTAMP '1970-01-01' + ts * INTERVAL '1 millisecond') STORED,
    source_file TEXT NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
);
