-- What share of plays is matched to a known song?
-- Grain: one row for the whole period; matched_pct is NULL when there are no plays.
-- A play is matched when a song of the metadata has its title, artist name and duration
-- (songplays.song_id is set). known_songs_played: distinct songs of the metadata played at least once.
-- The columns stand in the order the answer reads (sqlfluff ST06 would move the percentage last).
SELECT  -- noqa: ST06
    COUNT(*) AS plays,
    COUNT(p.song_id) AS matched_plays,
    CAST(ROUND(100.0 * COUNT(p.song_id) / NULLIF(COUNT(*), 0), 3) AS DECIMAL(6, 3)) AS matched_pct,
    COUNT(DISTINCT p.song_id) AS known_songs_played,
    (SELECT COUNT(*) FROM songs) AS known_songs
FROM songplays AS p;
