-- staged events of logged-in users reconcile with sessions and page_events
-- Each row names a figure that differs from what staging (or the other table) says it must be: page
-- events are the distinct events (user, session, item in session, ts, page), sessions the distinct
-- (user, session) among them; the sessions' events and plays add up to page_events and songplays.
WITH events AS (
    SELECT DISTINCT
        user_id,
        session_id,
        item_in_session,
        ts,
        page
    FROM staging_events
    WHERE user_id <> ''
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
    FROM (SELECT DISTINCT
        user_id,
        session_id
    FROM events) AS s
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
