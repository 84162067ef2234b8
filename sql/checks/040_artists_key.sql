-- artists.artist_id is present and unique
SELECT
    artist_id,
    COUNT(*) AS copies
FROM artists
GROUP BY artist_id
HAVING artist_id IS NULL OR COUNT(*) > 1;
