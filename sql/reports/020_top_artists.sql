-- Which artists are played most?
-- Grain: one row per artist name as the app logged it (songplays.artist_name, repaired); the 10 most
-- played, ties by artist.
-- chart: barh artist plays
SELECT
    artist_name AS artist,
    COUNT(*) AS plays,
    COUNT(DISTINCT song_title) AS songs,
    COUNT(DISTINCT user_id) AS listeners
FROM songplays
GROUP BY artist_name
ORDER BY plays DESC, artist ASC
LIMIT 10;
