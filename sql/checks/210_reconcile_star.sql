-- staged records reconcile with the star: plays, users, times, songs and artists
-- Each row names a table whose row count differs from what staging says it must hold.
-- An event staged twice (two files, a re-sent file) is one play: plays counts distinct events.
WITH plays AS (
    SELECT DISTINCT
        user_id,
        session_id,
        item_in_session,
        ts,
        start_time
    FROM staging_events
    WHERE page = 'NextSong' AND user_id <> ''
),

expected AS (
    SELECT
        'songplays' AS tbl,
        COUNT(*) AS n
    FROM plays
    UNION ALL
    SELECT
        'users' AS tbl,
        COUNT(DISTINCT user_id) AS n
    FROM plays
    UNION ALL
    SELECT
        'time' AS tbl,
        COUNT(DISTINCT start_time) AS n
    FROM plays
    UNION ALL
    SELECT
        'songs' AS tbl,
        COUNT(DISTINCT song_id) AS n
    FROM staging_songs
    UNION ALL
    SELECT
        'artists' AS tbl,
        COUNT(DISTINCT artist_id) AS n
    FROM staging_songs
),

actual AS (
    SELECT
        'songplays' AS tbl,
        COUNT(*) AS n
    FROM songplays
    UNION ALL
    SELECT
        'users' AS tbl,
        COUNT(*) AS n
    FROM users
    UNION ALL
    SELECT
        'time' AS tbl,
        COUNT(*) AS n
    FROM time
    UNION ALL
    SELECT
        'songs' AS tbl,
        COUNT(*) AS n
    FROM songs
    UNION ALL
    SELECT
        'artists' AS tbl,
        COUNT(*) AS n
    FROM artists
)

SELECT
    expected.tbl,
    expected.n AS expected_rows,
    actual.n AS actual_rows
FROM expected
INNER JOIN actual ON expected.tbl = actual.tbl
WHERE expected.n <> actual.n;
