-- songs: one row per song_id, rebuilt for the songs in scope (all of them on a rebuild).
-- When the source repeats a song_id, the record read first (by source file, then line) wins.
-- year 0 in the Million Song Dataset means "unknown" and becomes NULL.
DELETE FROM songs
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1 OR song_id IN (SELECT c.song_id FROM changed_songs AS c);

INSERT INTO songs (song_id, title, artist_id, year, duration)
SELECT
    song_id,
    title,
    artist_id,
    NULLIF(year, 0) AS year,
    duration
FROM (
    SELECT
        s.song_id,
        s.title,
        s.artist_id,
        s.year,
        s.duration,
        ROW_NUMBER() OVER (PARTITION BY s.song_id ORDER BY s.source_file, s.source_line) AS pick
    FROM staging_songs AS s
    WHERE (SELECT run.rebuild FROM transform_run AS run) = 1 OR s.song_id IN (SELECT c.song_id FROM changed_songs AS c)
) AS ranked
WHERE pick = 1;
