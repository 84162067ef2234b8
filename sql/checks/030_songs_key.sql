-- songs.song_id is present and unique
SELECT
    song_id,
    COUNT(*) AS copies
FROM songs
GROUP BY song_id
HAVING song_id IS NULL OR COUNT(*) > 1;
