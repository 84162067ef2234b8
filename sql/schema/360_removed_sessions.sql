-- removed_sessions: the events of logged-in users that staging lost since the last transform (a changed
-- file's earlier rows, as they are deleted), with the load that had staged them: the transform rebuilds
-- their sessions and page events, and make verify reconciles a star that staging is ahead of (the star
-- shows these events until the next transform takes them out).
-- Grain: one row per staged event removed (user, session, item in session, ts, page).
CREATE TABLE removed_sessions (
    user_id VARCHAR(64) NOT NULL,
    session_id BIGINT,
    item_in_session INTEGER,
    ts BIGINT NOT NULL,
    start_time TIMESTAMP NOT NULL,
    page VARCHAR(64),
    load_id VARCHAR(40)
)
-- redshift: DISTSTYLE EVEN
;
