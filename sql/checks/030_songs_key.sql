-- songs.song_id is present and unique
-- The key grouped as a value, as in 010_songplays_key.sql.
SELECT
    k.song_id,
    COUNT(*) AS copies
FROM (
    SELECT song_id || '' AS song_id
    FROM songs
) AS k
GROUP BY k.song_id
HAVING k.song_id IS NULL OR COUNT(*) > 1;

-- scoped: the songs the transform rebuilt (changed_songs)
SELECT
    k.song_id,
    COUNT(*) AS copies
FROM (
    SELECT s.song_id || '' AS song_id
    FROM songs AS s
    WHERE s.song_id IN (SELECT c.song_id FROM changed_songs AS c)
) AS k
GROUP BY k.song_id
HAVING COUNT(*) > 1;
