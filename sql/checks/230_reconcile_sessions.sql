-- staged events of logged-in users reconcile with sessions and page_events
-- Each row names a figure that differs from what staging (or the other table) says it must be: page
-- events are the distinct events (user, session, item in session, ts, page), sessions the distinct
-- (user, session) among them; the sessions' events and plays add up to page_events and songplays.
-- Staging may be ahead of the star (see 210_reconcile_star.sql): the events reconciled are the staged
-- rows of the loads in star_loads and the rows of those loads removed from staging since
-- (removed_sessions), which the star shows until the next transform takes them out.
WITH events AS (
    SELECT DISTINCT
        shown.user_id,
        shown.session_id,
        shown.item_in_session,
        shown.ts,
        shown.page
    FROM (
        SELECT
            e.user_id,
            e.session_id,
            e.item_in_session,
            e.ts,
            e.page
        FROM staging_events AS e
        WHERE
            e.user_id <> ''
            AND e.load_id IN (SELECT b.load_id FROM star_loads AS b)
        UNION ALL
        SELECT
            r.user_id,
            r.session_id,
            r.item_in_session,
            r.ts,
            r.page
        FROM removed_sessions AS r
        WHERE r.load_id IS NULL OR r.load_id IN (SELECT b.load_id FROM star_loads AS b)
    ) AS shown
),

expected AS (
    SELECT
        'page_events' AS figure,
        COUNT(*) AS n
    FROM events
    UNION ALL
    SELECT
        'sessions' AS figure,
        COUNT(*) AS n
    FROM (
        SELECT DISTINCT
            user_id,
            session_id
        FROM events
    ) AS s
    UNION ALL
    SELECT
        'sessions.events' AS figure,
        COUNT(*) AS n
    FROM page_events
    UNION ALL
    SELECT
        'sessions.plays' AS figure,
        COUNT(*) AS n
    FROM songplays
),

actual AS (
    SELECT
        'page_events' AS figure,
        COUNT(*) AS n
    FROM page_events
    UNION ALL
    SELECT
        'sessions' AS figure,
        COUNT(*) AS n
    FROM sessions
    UNION ALL
    SELECT
        'sessions.events' AS figure,
        COALESCE(SUM(events), 0) AS n
    FROM sessions
    UNION ALL
    SELECT
        'sessions.plays' AS figure,
        COALESCE(SUM(plays), 0) AS n
    FROM sessions
)

SELECT
    expected.figure,
    expected.n AS expected,
    actual.n AS actual
FROM expected
INNER JOIN actual ON expected.figure = actual.figure
WHERE expected.n <> actual.n;

-- scoped: the sessions the transform rebuilt, against the staged events it built them from
-- (session_events: every event of those sessions, once each); their events and plays against the page
-- events and plays of the same sessions.
WITH rebuilt_events AS (
    SELECT
        e.user_id,
        e.session_id,
        e.page
    FROM page_events AS e
    INNER JOIN scope_sessions AS c
        ON
            e.user_id = c.user_id
            AND (e.session_id = c.session_id OR (e.session_id IS NULL AND c.session_id IS NULL))
    WHERE
        e.start_time BETWEEN (SELECT w.from_time FROM session_span AS w)
        AND (SELECT w.to_time FROM session_span AS w)
),

rebuilt_sessions AS (
    SELECT
        s.events,
        s.plays
    FROM sessions AS s
    INNER JOIN scope_sessions AS c
        ON
            s.user_id = c.user_id
            AND (s.session_id = c.session_id OR (s.session_id IS NULL AND c.session_id IS NULL))
    WHERE
        s.started_at BETWEEN (SELECT w.from_time FROM session_span AS w)
        AND (SELECT w.to_time FROM session_span AS w)
),

expected AS (
    SELECT
        'page_events' AS figure,
        COUNT(*) AS n
    FROM session_events
    UNION ALL
    SELECT
        'sessions' AS figure,
        COUNT(*) AS n
    FROM (
        SELECT DISTINCT
            user_id,
            session_id
        FROM session_events
    ) AS s
    UNION ALL
    SELECT
        'sessions.events' AS figure,
        COUNT(*) AS n
    FROM rebuilt_events
    UNION ALL
    SELECT
        'sessions.plays' AS figure,
        COUNT(*) AS n
    FROM rebuilt_events
    WHERE page = 'NextSong'
),

actual AS (
    SELECT
        'page_events' AS figure,
        COUNT(*) AS n
    FROM rebuilt_events
    UNION ALL
    SELECT
        'sessions' AS figure,
        COUNT(*) AS n
    FROM rebuilt_sessions
    UNION ALL
    SELECT
        'sessions.events' AS figure,
        COALESCE(SUM(events), 0) AS n
    FROM rebuilt_sessions
    UNION ALL
    SELECT
        'sessions.plays' AS figure,
        COALESCE(SUM(plays), 0) AS n
    FROM rebuilt_sessions
)

SELECT
    expected.figure,
    expected.n AS expected,
    actual.n AS actual
FROM expected
INNER JOIN actual ON expected.figure = actual.figure
WHERE expected.n <> actual.n;
