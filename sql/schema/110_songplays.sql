-- songplays (fact): one row per song played, i.e. per NextSong event of a logged-in user, however often
-- and in whatever files the event arrived.
-- songplay_id is the MD5 of the play's key (user, session, item in session, ts): the same for the same
-- play on both warehouses, whatever order the files came in, and never renumbered.
-- song_id and artist_id come from the song whose title, artist name and duration equal the event's;
-- they are NULL when no song matches, and the play is kept.
-- The key is informational on Redshift, which enforces none; on PostgreSQL it is not indexed at all: a
-- B-tree over random MD5 strings made a full load's insert four times slower, and the transform finds
-- a day's plays through a BRIN index on start_time (plays arrive in time order) instead. The check
-- songplays_key (make verify) proves the key unique on both.
-- PostgreSQL: user_id compares byte by byte (COLLATE "C"), as on Redshift, for the reports' order.
-- Redshift: DISTKEY start_time joins time on-slice (song_id would skew: most plays match no song);
-- sorted by start_time for time ranges.
CREATE TABLE songplays (
    songplay_id VARCHAR(32) NOT NULL,
    start_time TIMESTAMP NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    level VARCHAR(16),
    song_id VARCHAR(64),
    artist_id VARCHAR(64),
    session_id BIGINT,
    location VARCHAR(512),
    user_agent VARCHAR(1024)
    -- redshift: , PRIMARY KEY (songplay_id)  -- noqa: LT04
)
-- redshift: DISTSTYLE KEY DISTKEY (start_time) SORTKEY (start_time)
;

-- postgres: ALTER TABLE songplays ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: CREATE INDEX songplays_start_time ON songplays USING brin (start_time);
