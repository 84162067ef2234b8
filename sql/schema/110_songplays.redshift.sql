-- songplays (fact): one row per song played, i.e. per NextSong event of a logged-in user (Redshift).
-- song_id and artist_id are NULL when no song matches, and the play is kept.
-- Keys: DISTKEY start_time joins time on-slice (song_id would skew: most plays match no song); sorted for time ranges.
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
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);
