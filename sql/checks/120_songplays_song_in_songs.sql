-- every matched songplay's song is in songs
SELECT
    p.songplay_id,
    p.song_id
FROM songplays AS p
LEFT JOIN songs AS s ON p.song_id = s.song_id
WHERE p.song_id IS NOT NULL AND s.song_id IS NULL;

-- scoped: the plays the transform rebuilt (scope_plays: the plays of new and removed rows, and those whose
-- match a new or removed song may change)
SELECT
    p.songplay_id,
    p.song_id
FROM songplays AS p
LEFT JOIN songs AS s ON p.song_id = s.song_id
WHERE
    p.song_id IS NOT NULL AND s.song_id IS NULL
    AND p.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
    AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
    AND p.songplay_id IN (SELECT x.songplay_id FROM scope_plays AS x);
