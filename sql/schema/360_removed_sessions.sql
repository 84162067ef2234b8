-- removed_sessions: the sessions whose events staging lost since the last transform (a changed file's
-- earlier rows, as they are deleted), so that the transform rebuilds them and their page events.
-- Grain: one row per session and start time of an event removed.
CREATE TABLE removed_sessions (
    user_id VARCHAR(64) NOT NULL,
    session_id BIGINT,
    start_time TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE EVEN
;
