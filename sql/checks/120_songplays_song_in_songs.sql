-- every matched songplay's song is in songs
SELECT
    p.songplay_id,
    p.song_id
FROM songplays AS p
LEFT JOIN songs AS s ON p.song_id = s.song_id
WHERE p.song_id IS NOT NULL AND s.song_id IS NULL;
