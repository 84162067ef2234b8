-- user_last_plays: the start time of each user's latest play, kept by the transform so that it can tell
-- a user whose new plays all come after their history (most users, most days: their tier history and
-- users row only grow at the end) from one whose history changed (a play removed or arriving late),
-- whose history it rebuilds from songplays.
-- Grain: one row per user in users.
CREATE TABLE user_last_plays (
    user_id VARCHAR(64) NOT NULL PRIMARY KEY,
    start_time TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL
;

-- postgres: ALTER TABLE user_last_plays ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
