-- Which songs are played most?
-- Grain: one row per song title and artist name as the app logged them; the 10 most played, ties by
-- song then artist (byte order on both warehouses); trailing blanks dropped, as Redshift compares text.
-- The star schema names a song only for plays that match the song metadata, and the sample's
-- metadata is a small subset of the catalogue; the activity log names every play. So this counts
-- staging_events filtered exactly as songplays is (NextSong events of logged-in users).
-- chart: barh song,artist plays
SELECT
    RTRIM(song) AS song,
    RTRIM(artist) AS artist,
    COUNT(*) AS plays
FROM staging_events
WHERE page = 'NextSong' AND user_id <> ''
GROUP BY RTRIM(song), RTRIM(artist)
ORDER BY plays DESC, song ASC, artist ASC
LIMIT 10;
