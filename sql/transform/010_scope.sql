-- scope: what this transform rebuilds, as temporary tables the other files read.
-- rebuild = 1 when a schema change asked for it (a row in star_rebuild), or when no load in star_loads
-- is staged any more: star_loads is empty (a first load, FULL_REFRESH=1), or staging was emptied and
-- restaged (PostgreSQL emptied its UNLOGGED staging, ledger and removed rows when it restarted after a
-- crash), or every file was replaced since. Then every star table is rebuilt from all of staging.
-- Otherwise only what changed since the last transform: the plays, users, songs and artists of the
-- rows that loads not yet in star_loads staged, of the rows removed from staging since (removed_plays,
-- removed_songs), and the plays whose song match a new or removed song may change (a song file that
-- arrives after its plays), and the sessions with events among those rows (every event of each, for
-- sessions and page_events). A play is keyed by its songplay_id, the MD5 of (user, session, item in
-- session, ts); the same expression builds it for scope_plays here and for a rebuild in 040_songplays.sql.
DROP TABLE IF EXISTS transform_run;

CREATE TEMP TABLE transform_run AS
SELECT CASE WHEN COUNT(*) = 0 OR (SELECT COUNT(*) FROM star_rebuild) > 0 THEN 1 ELSE 0 END AS rebuild
FROM star_loads
WHERE load_id IN (SELECT f.load_id FROM load_files AS f);

DROP TABLE IF EXISTS new_loads;

CREATE TEMP TABLE new_loads AS
SELECT DISTINCT f.load_id
FROM load_files AS f
WHERE f.load_id NOT IN (SELECT b.load_id FROM star_loads AS b);

DROP TABLE IF EXISTS changed_songs;

CREATE TEMP TABLE changed_songs AS
SELECT DISTINCT
    c.song_id,
    c.artist_id,
    c.title,
    c.artist_name,
    c.duration
FROM (
    SELECT
        s.song_id,
        s.artist_id,
        RTRIM(s.title) AS title,
        RTRIM(s.artist_name) AS artist_name,
        s.duration
    FROM staging_songs AS s
    WHERE s.load_id IN (SELECT n.load_id FROM new_loads AS n)
    UNION ALL
    SELECT
        r.song_id,
        r.artist_id,
        r.title,
        r.artist_name,
        r.duration
    FROM removed_songs AS r
) AS c
WHERE (SELECT run.rebuild FROM transform_run AS run) = 0;

DROP TABLE IF EXISTS changed_song_keys;

-- the changed songs' match keys as the logs may write them: a title (artist name) as it is, or any
-- logged value that text_repairs repairs to it, since plays match their songs by the repaired text
CREATE TEMP TABLE changed_song_keys AS
SELECT DISTINCT
    t.logged AS title,
    a.logged AS artist_name,
    c.duration
FROM changed_songs AS c
INNER JOIN (
    SELECT
        x.title AS repaired,
        x.title AS logged
    FROM changed_songs AS x
    UNION ALL
    SELECT
        r.repaired,
        r.original AS logged
    FROM text_repairs AS r
) AS t ON c.title = t.repaired
INNER JOIN (
    SELECT
        y.artist_name AS repaired,
        y.artist_name AS logged
    FROM changed_songs AS y
    UNION ALL
    SELECT
        r.repaired,
        r.original AS logged
    FROM text_repairs AS r
) AS a ON c.artist_name = a.repaired;

DROP TABLE IF EXISTS changed_plays;

-- the keys of the plays whose own rows changed (a play staged twice appears twice: scope_plays groups)
CREATE TEMP TABLE changed_plays AS
SELECT
    c.user_id,
    c.session_id,
    c.item_in_session,
    c.ts,
    c.start_time
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
        -- the new loads are the latest: their ids are the greatest, which staging's BRIN index finds at once
        AND e.load_id >= (SELECT MIN(n.load_id) FROM new_loads AS n)
        AND e.load_id IN (SELECT n.load_id FROM new_loads AS n)
    UNION ALL
    SELECT
        r.user_id,
        r.session_id,
        r.item_in_session,
        r.ts,
        r.start_time
    FROM removed_plays AS r
) AS c
WHERE (SELECT run.rebuild FROM transform_run AS run) = 0;

DROP TABLE IF EXISTS scope_plays;

-- every play in scope, with its songplay_id; changed = 1 when its own rows changed (not just its match)
CREATE TEMP TABLE scope_plays AS
SELECT
    MD5(
        k.user_id || '|' || COALESCE(CAST(k.session_id AS VARCHAR(20)), '') || '|'
        || COALESCE(CAST(k.item_in_session AS VARCHAR(11)), '') || '|' || CAST(k.ts AS VARCHAR(20))
    ) AS songplay_id,
    k.user_id,
    k.session_id,
    k.item_in_session,
    k.ts,
    k.start_time,
    MAX(k.changed) AS changed
FROM (
    SELECT
        c.user_id,
        c.session_id,
        c.item_in_session,
        c.ts,
        c.start_time,
        1 AS changed
    FROM changed_plays AS c
    UNION ALL
    SELECT
        e.user_id,
        e.session_id,
        e.item_in_session,
        e.ts,
        e.start_time,
        0 AS changed
    FROM staging_events AS e
    INNER JOIN changed_song_keys AS m
        ON RTRIM(e.song) = m.title AND RTRIM(e.artist) = m.artist_name AND e.length = m.duration
    -- read only when a song changed: on a day with no new song file, the join would still read every staged
    -- play (3.8 s of a 3M warehouse's daily load); a condition on no row is decided once, before the scan
    WHERE e.page = 'NextSong' AND e.user_id <> '' AND (SELECT COUNT(*) FROM changed_song_keys) > 0
) AS k
GROUP BY k.user_id, k.session_id, k.item_in_session, k.ts, k.start_time;

-- postgres: ANALYZE scope_plays;

DROP TABLE IF EXISTS scope_events;

-- the staged NextSong rows of the plays in scope (every copy of each), read through the start times
-- the scope spans: the new day's, mostly, which staging's BRIN index finds without the rest
CREATE TEMP TABLE scope_events AS
SELECT
    s.songplay_id,
    e.user_id,
    e.session_id,
    e.item_in_session,
    e.ts,
    e.start_time,
    e.level,
    e.first_name,
    e.last_name,
    e.gender,
    e.location,
    e.user_agent,
    e.song,
    e.artist,
    e.length,
    e.source_file,
    e.source_line
FROM staging_events AS e
INNER JOIN scope_plays AS s
    ON
        e.user_id = s.user_id AND e.ts = s.ts
        AND (e.session_id = s.session_id OR (e.session_id IS NULL AND s.session_id IS NULL))
        AND (e.item_in_session = s.item_in_session OR (e.item_in_session IS NULL AND s.item_in_session IS NULL))
WHERE
    e.page = 'NextSong'
    AND e.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
    AND (SELECT MAX(x.start_time) FROM scope_plays AS x);

DROP TABLE IF EXISTS scope_users;

CREATE TEMP TABLE scope_users AS
SELECT DISTINCT c.user_id
FROM changed_plays AS c;

DROP TABLE IF EXISTS scope_sessions;

-- the sessions whose events changed: those of logged-in users with events in the new loads or among the
-- rows removed since, and the start times of those events
CREATE TEMP TABLE scope_sessions AS
SELECT
    c.user_id,
    c.session_id,
    MIN(c.start_time) AS changed_from,
    MAX(c.start_time) AS changed_to
FROM (
    SELECT
        e.user_id,
        e.session_id,
        e.start_time
    FROM staging_events AS e
    WHERE
        e.user_id <> ''
        AND e.load_id >= (SELECT MIN(n.load_id) FROM new_loads AS n)
        AND e.load_id IN (SELECT n.load_id FROM new_loads AS n)
    UNION ALL
    SELECT
        r.user_id,
        r.session_id,
        r.start_time
    FROM removed_sessions AS r
) AS c
WHERE (SELECT run.rebuild FROM transform_run AS run) = 0
GROUP BY c.user_id, c.session_id;

-- postgres: ANALYZE scope_sessions;

DROP TABLE IF EXISTS session_span;

-- the start times the events of those sessions span: their changed events', and those of the sessions as
-- built before (a session running past midnight has its first events in the day before)
CREATE TEMP TABLE session_span AS
SELECT
    MIN(w.from_time) AS from_time,
    MAX(w.to_time) AS to_time
FROM (
    SELECT
        s.changed_from AS from_time,
        s.changed_to AS to_time
    FROM scope_sessions AS s
    UNION ALL
    SELECT
        b.started_at AS from_time,
        b.ended_at AS to_time
    FROM sessions AS b
    INNER JOIN scope_sessions AS s
        ON
            b.user_id = s.user_id
            AND (b.session_id = s.session_id OR (b.session_id IS NULL AND s.session_id IS NULL))
) AS w;

DROP TABLE IF EXISTS session_events;

-- every event of a logged-in user in the sessions in scope (all of them on a rebuild), one row per event
-- however often it was staged (user, session, item in session, ts and page; the copy read first)
CREATE TEMP TABLE session_events AS
SELECT
    d.user_id,
    d.session_id,
    d.item_in_session,
    d.ts,
    d.start_time,
    d.page,
    d.level,
    d.status,
    d.method,
    d.location,
    d.user_agent
FROM (
    SELECT
        a.user_id,
        a.session_id,
        a.item_in_session,
        a.ts,
        a.start_time,
        a.page,
        a.level,
        a.status,
        a.method,
        a.location,
        a.user_agent,
        ROW_NUMBER() OVER (
            PARTITION BY a.ts, a.session_id, a.item_in_session, a.user_id, a.page
            ORDER BY a.source_file, a.source_line
        ) AS copy
    FROM (
        -- a rebuild: every staged event of a logged-in user
        SELECT
            e.user_id,
            e.session_id,
            e.item_in_session,
            e.ts,
            e.start_time,
            e.page,
            e.level,
            e.status,
            e.method,
            e.location,
            e.user_agent,
            e.source_file,
            e.source_line
        FROM staging_events AS e
        WHERE e.user_id <> '' AND (SELECT run.rebuild FROM transform_run AS run) = 1
        UNION ALL
        -- else: the staged events of the sessions in scope, read through the start times they span
        SELECT
            e.user_id,
            e.session_id,
            e.item_in_session,
            e.ts,
            e.start_time,
            e.page,
            e.level,
            e.status,
            e.method,
            e.location,
            e.user_agent,
            e.source_file,
            e.source_line
        FROM staging_events AS e
        INNER JOIN scope_sessions AS s
            ON
                e.user_id = s.user_id
                AND (e.session_id = s.session_id OR (e.session_id IS NULL AND s.session_id IS NULL))
        WHERE
            e.start_time BETWEEN (SELECT w.from_time FROM session_span AS w)
            AND (SELECT w.to_time FROM session_span AS w)
    ) AS a
) AS d
WHERE d.copy = 1;

-- postgres: ANALYZE changed_songs;
-- postgres: ANALYZE scope_users;
-- postgres: ANALYZE session_events;
