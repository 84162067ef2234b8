-- staged records reconcile with the star: plays, users, songs, artists and times
-- Each row names a table whose row count differs from what staging says it must hold.
SELECT expected.tbl, expected.n AS expected_rows, actual.n AS actual_rows
FROM (
    SELECT 'songplays' AS tbl, COUNT(*) AS n
    FROM staging_events WHERE page = 'NextSong' AND user_id <> ''
    UNION ALL
    SELECT 'users', COUNT(DISTINCT user_id)
    FROM staging_events WHERE page = 'NextSong' AND user_id <> ''
    UNION ALL
    SELECT 'time', COUNT(DISTINCT start_time)
    FROM staging_events WHERE page = 'NextSong' AND user_id <> ''
    UNION ALL
    SELECT 'songs', COUNT(DISTINCT song_id) FROM staging_songs
    UNION ALL
    SELECT 'artists', COUNT(DISTINCT artist_id) FROM staging_songs
) AS expected
INNER JOIN (
    SELECT 'songplays' AS tbl, COUNT(*) AS n FROM songplays
    UNION ALL
    SELECT 'users', COUNT(*) FROM users
    UNION ALL
    SELECT 'time', COUNT(*) FROM time
    UNION ALL
    SELECT 'songs', COUNT(*) FROM songs
    UNION ALL
    SELECT 'artists', COUNT(*) FROM artists
) AS actual ON expected.tbl = actual.tbl
WHERE expected.n <> actual.n;
