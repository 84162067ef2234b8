-- songplays (fact): one row per song played, i.e. per NextSong event of a logged-in user.
-- song_id and artist_id come from the song whose title, artist name and duration equal the event's;
-- they are NULL when no song matches, and the play is kept.
-- Redshift: DISTKEY start_time joins time on-slice (song_id would skew: most plays match no song);
-- sorted by start_time for time ranges.
CREATE TABLE songplays (
    songplay_id BIGINT NOT NULL PRIMARY KEY,
    start_time TIMESTAMP NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    level VARCHAR(16),
    song_id VARCHAR(64),
    artist_id VARCHAR(64),
    session_id BIGINT,
    location VARCHAR(512),
    user_agent VARCHAR(1024)
)
-- redshift: DISTSTYLE KEY DISTKEY (start_time) SORTKEY (start_time)
;
