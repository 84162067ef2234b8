-- Which songs are played most?
-- Grain: one row per song title and artist name as the app logged them; the 10 most played, ties by
-- song then artist.
-- The star schema names a song only for plays that match the song metadata, and the sample's
-- metadata is a small subset of the catalogue; the activity log names every play. So this counts
-- staging_events filtered exactly as songplays is (NextSong events of logged-in users).
-- chart: barh song,artist plays
SELECT
    song,
    artist,
    COUNT(*) AS plays
FROM staging_events
WHERE page = 'NextSong' AND user_id <> ''
GROUP BY song, artist
ORDER BY plays DESC, song ASC, artist ASC
LIMIT 10;
