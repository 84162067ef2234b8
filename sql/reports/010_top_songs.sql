-- Which songs are played most?
-- Grain: one row per song title and artist name as the app logged them (mojibake repaired, trailing
-- blanks dropped: songplays.song_title, artist_name); the 10 most played, ties by song then artist (byte
-- order on both warehouses). Every play counts, whether or not it matched the song metadata.
-- chart: barh song,artist plays
SELECT
    song_title AS song,
    artist_name AS artist,
    COUNT(*) AS plays
FROM songplays
GROUP BY song_title, artist_name
ORDER BY plays DESC, song ASC, artist ASC
LIMIT 10;
