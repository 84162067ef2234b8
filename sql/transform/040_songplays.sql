-- songplays: rebuilt from staging_events, one row per NextSong event of a logged-in user.
-- The song is the one whose title, artist name and duration equal the event's song, artist and
-- length; when several do, the lowest song_id. Plays without a match keep NULL song and artist.
-- Titles and names are compared without trailing blanks (RTRIM), as Redshift compares text anyway.
-- songplay_id numbers plays in time order, ties broken by user, session, item and source line,
-- so a rerun on the same input gives every play the same id.
DELETE FROM songplays;

INSERT INTO songplays (
    songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
)
SELECT
    ROW_NUMBER() OVER (
        ORDER BY e.ts, e.user_id, e.session_id, e.item_in_session, e.source_file, e.source_line
    ) AS songplay_id,
    e.start_time,
    e.user_id,
    e.level,
    m.song_id,
    m.artist_id,
    e.session_id,
    e.location,
    e.user_agent
FROM staging_events AS e
LEFT JOIN (
    SELECT
        title,
        artist_name,
        duration,
        song_id,
        artist_id
    FROM (
        SELECT
            title,
            artist_name,
            duration,
            song_id,
            artist_id,
            ROW_NUMBER() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS pick
        FROM staging_songs
    ) AS ranked
    WHERE pick = 1
) AS m
    ON RTRIM(e.song) = m.title AND RTRIM(e.artist) = m.artist_name AND e.length = m.duration
WHERE e.page = 'NextSong' AND e.user_id <> '';
