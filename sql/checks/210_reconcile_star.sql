-- staged records reconcile with the star: plays, users, times, songs and artists
-- Each row names a table whose row count differs from what staging says it must hold.
-- An event staged twice (two files, a re-sent file) is one play: plays counts distinct events.
-- Staging may be ahead of the star: a load's staging commits before its transform does, and a transform
-- the checks refused leaves its load staged but not shown. So the star is reconciled with what it was
-- built from: the staged rows of the loads in star_loads, and the rows of those loads removed from
-- staging since (removed_plays, removed_songs), which the star shows until the next transform takes
-- them out. (A FULL_REFRESH empties star_loads with staging: until its transform commits, this fails.)
WITH plays AS (
    SELECT DISTINCT
        shown.user_id,
        shown.session_id,
        shown.item_in_session,
        shown.ts,
        shown.start_time
    FROM (
        SELECT
            e.user_id,
            e.session_id,
            e.item_in_session,
            e.ts,
            e.start_time
        FROM staging_events AS e
        WHERE
            e.page = 'NextSong' AND e.user_id <> ''
            AND e.load_id IN (SELECT b.load_id FROM star_loads AS b)
        UNION ALL
        SELECT
            r.user_id,
            r.session_id,
            r.item_in_session,
            r.ts,
            r.start_time
        FROM removed_plays AS r
        WHERE r.load_id IS NULL OR r.load_id IN (SELECT b.load_id FROM star_loads AS b)
    ) AS shown
),

songs_shown AS (
    SELECT
        s.song_id,
        s.artist_id
    FROM staging_songs AS s
    WHERE s.load_id IN (SELECT b.load_id FROM star_loads AS b)
    UNION ALL
    SELECT
        r.song_id,
        r.artist_id
    FROM removed_songs AS r
    WHERE r.load_id IS NULL OR r.load_id IN (SELECT b.load_id FROM star_loads AS b)
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
    FROM songs_shown
    UNION ALL
    SELECT
        'artists' AS tbl,
        COUNT(DISTINCT artist_id) AS n
    FROM songs_shown
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

-- scoped: the plays, start times, songs and artists the transform rebuilt, against their staged rows
-- (staging is not ahead here: the transform has just taken in every load and removed row). The users the
-- transform rebuilt are held by the scoped forms of 020, 110 and 150; their count by the whole form.
WITH expected AS (
    SELECT
        'songplays' AS tbl,
        COUNT(DISTINCT e.songplay_id) AS n
    FROM scope_events AS e
    UNION ALL
    SELECT
        'time' AS tbl,
        COUNT(DISTINCT e.start_time) AS n
    FROM staging_events AS e
    WHERE
        e.page = 'NextSong' AND e.user_id <> ''
        AND e.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
        AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
        AND e.start_time IN (SELECT x.start_time FROM scope_plays AS x)
    UNION ALL
    SELECT
        'songs' AS tbl,
        COUNT(DISTINCT s.song_id) AS n
    FROM staging_songs AS s
    WHERE s.song_id IN (SELECT c.song_id FROM changed_songs AS c)
    UNION ALL
    SELECT
        'artists' AS tbl,
        COUNT(DISTINCT s.artist_id) AS n
    FROM staging_songs AS s
    WHERE s.artist_id IN (SELECT c.artist_id FROM changed_songs AS c)
),

actual AS (
    SELECT
        'songplays' AS tbl,
        COUNT(*) AS n
    FROM songplays AS p
    WHERE
        p.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
        AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
        AND p.songplay_id IN (SELECT x.songplay_id FROM scope_plays AS x)
    UNION ALL
    SELECT
        'time' AS tbl,
        COUNT(*) AS n
    FROM time AS t
    WHERE
        t.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
        AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
        AND t.start_time IN (SELECT x.start_time FROM scope_plays AS x)
    UNION ALL
    SELECT
        'songs' AS tbl,
        COUNT(*) AS n
    FROM songs AS s
    WHERE s.song_id IN (SELECT c.song_id FROM changed_songs AS c)
    UNION ALL
    SELECT
        'artists' AS tbl,
        COUNT(*) AS n
    FROM artists AS a
    WHERE a.artist_id IN (SELECT c.artist_id FROM changed_songs AS c)
)

SELECT
    expected.tbl,
    expected.n AS expected_rows,
    actual.n AS actual_rows
FROM expected
INNER JOIN actual ON expected.tbl = actual.tbl
WHERE expected.n <> actual.n;
