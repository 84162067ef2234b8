-- Which artists are played most?
-- Grain: one row per artist name as the app logged it; the 10 most played, ties by artist.
-- Counted from staging_events filtered as songplays is, for the reason given in 010_top_songs.sql.
-- chart: barh artist plays
SELECT
    RTRIM(artist) AS artist,
    COUNT(*) AS plays,
    COUNT(DISTINCT RTRIM(song)) AS songs,
    COUNT(DISTINCT user_id) AS listeners
FROM staging_events
WHERE page = 'NextSong' AND user_id <> ''
GROUP BY RTRIM(artist)
ORDER BY plays DESC, artist ASC
LIMIT 10;
