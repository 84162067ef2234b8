-- sessions (fact): one row per session of a logged-in user (user_id, session_id), over every page the
-- user visited in it, not only plays; however many files its events came in (a session that runs past
-- midnight spans two daily files).
-- started_at, ended_at: its first and last event; seconds between them (whole seconds); events and plays
-- (NextSong) counted once each however often they were staged; the level of its first and last event;
-- the location and user agent of its first event, with their parts (as in songplays).
-- A user who never played has sessions and no row in users.
-- Redshift: DISTKEY user_id (a user's sessions together); sorted by started_at for time ranges. No
-- primary key declared: session_id may be NULL (a logged-in event without one), and Redshift's planner
-- takes a declared key as valid ("a primary key ... unique ... non-null values").
CREATE TABLE sessions (
    user_id VARCHAR(64) NOT NULL,
    session_id BIGINT,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    seconds BIGINT NOT NULL,
    events INTEGER NOT NULL,
    plays INTEGER NOT NULL,
    first_level VARCHAR(16),
    last_level VARCHAR(16),
    location VARCHAR(512),
    metro VARCHAR(512),
    state VARCHAR(512),
    user_agent VARCHAR(1024),
    browser VARCHAR(256),
    os VARCHAR(256),
    device VARCHAR(256)
)
-- redshift: DISTSTYLE KEY DISTKEY (user_id) SORTKEY (started_at)
;

-- postgres: ALTER TABLE sessions ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: CREATE INDEX sessions_started_at ON sessions USING brin (started_at);
-- postgres: CREATE INDEX sessions_key ON sessions (user_id, session_id);
