-- every matched songplay's artist is in artists
SELECT
    p.songplay_id,
    p.artist_id
FROM songplays AS p
LEFT JOIN artists AS a ON p.artist_id = a.artist_id
WHERE p.artist_id IS NOT NULL AND a.artist_id IS NULL;

-- scoped: the plays the transform rebuilt (scope_plays)
SELECT
    p.songplay_id,
    p.artist_id
FROM songplays AS p
LEFT JOIN artists AS a ON p.artist_id = a.artist_id
WHERE
    p.artist_id IS NOT NULL AND a.artist_id IS NULL
    AND p.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
    AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
    AND p.songplay_id IN (SELECT x.songplay_id FROM scope_plays AS x);
