-- songs: rebuilt from staging_songs, one row per song_id.
-- When the source repeats a song_id, the record read first (by source file, then line) wins.
-- year 0 in the Million Song Dataset means "unknown" and becomes NULL.
DELETE FROM songs;

INSERT INTO songs (song_id, title, artist_id, year, duration)
SELECT
    song_id,
    title,
    artist_id,
    NULLIF(year, 0) AS year,
    duration
FROM (
    SELECT
        song_id,
        title,
        artist_id,
        year,
        duration,
        ROW_NUMBER() OVER (PARTITION BY song_id ORDER BY source_file, source_line) AS pick
    FROM staging_songs
) AS ranked
WHERE pick = 1;
