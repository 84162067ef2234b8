-- page_events (fact): one row per event of a logged-in user, every page (NextSong, Home, Upgrade,
-- Submit Downgrade, Cancellation Confirmation, ...), however often and in whatever files it arrived:
-- funnels and churn as star queries.
-- event_id is the MD5 of the event's key (user, session, item in session, ts) and its page. A NextSong
-- event's play in songplays is the one of the same user, session and start time (check 190).
-- Redshift: DISTKEY user_id, a user's events together for funnels; sorted by start_time.
CREATE TABLE page_events (
    event_id VARCHAR(32) NOT NULL,
    start_time TIMESTAMP NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    session_id BIGINT,
    item_in_session INTEGER,
    page VARCHAR(64),
    level VARCHAR(16),
    status INTEGER,
    method VARCHAR(16)
    -- redshift: , PRIMARY KEY (event_id)  -- noqa: LT04
)
-- redshift: DISTSTYLE KEY DISTKEY (user_id) SORTKEY (start_time)
;

-- postgres: ALTER TABLE page_events ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: CREATE INDEX page_events_start_time ON page_events USING brin (start_time);
