-- every matched songplay's artist is in artists
SELECT
    p.songplay_id,
    p.artist_id
FROM songplays AS p
LEFT JOIN artists AS a ON p.artist_id = a.artist_id
WHERE p.artist_id IS NOT NULL AND a.artist_id IS NULL;
