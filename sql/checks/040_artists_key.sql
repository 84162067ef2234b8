-- artists.artist_id is present and unique
-- The key grouped as a value, as in 010_songplays_key.sql.
SELECT
    k.artist_id,
    COUNT(*) AS copies
FROM (
    SELECT artist_id || '' AS artist_id
    FROM artists
) AS k
GROUP BY k.artist_id
HAVING k.artist_id IS NULL OR COUNT(*) > 1;

-- scoped: the artists the transform rebuilt (those of changed_songs)
SELECT
    k.artist_id,
    COUNT(*) AS copies
FROM (
    SELECT a.artist_id || '' AS artist_id
    FROM artists AS a
    WHERE a.artist_id IN (SELECT c.artist_id FROM changed_songs AS c)
) AS k
GROUP BY k.artist_id
HAVING COUNT(*) > 1;
