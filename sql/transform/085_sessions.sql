-- sessions: one row per session of a logged-in user, rebuilt for the sessions in scope (all of them on a
-- rebuild) from session_events (010_scope.sql), which holds every event of each, one row per event.
-- The first and last event are the earliest and latest by ts, then item in session, then page: a
-- total order, so both warehouses pick the same (one sort: the last is the one numbered as many as the
-- session has events). seconds: from the first event's ts to the last's.
-- Location and user agent are the first event's, as location_parts and user_agent_parts give them.
DELETE FROM sessions
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1;

DELETE FROM sessions
USING scope_sessions
WHERE
    sessions.started_at BETWEEN (SELECT w.from_time FROM session_span AS w)
    AND (SELECT w.to_time FROM session_span AS w)
    AND sessions.user_id = scope_sessions.user_id
    AND (
        sessions.session_id = scope_sessions.session_id
        OR (sessions.session_id IS NULL AND scope_sessions.session_id IS NULL)
    );

INSERT INTO sessions (
    user_id, session_id, started_at, ended_at, seconds, events, plays, first_level, last_level,
    location, metro, state, user_agent, browser, os, device
)
SELECT
    g.user_id,
    g.session_id,
    g.started_at,
    g.ended_at,
    g.seconds,
    g.events,
    g.plays,
    g.first_level,
    g.last_level,
    COALESCE(lp.repaired, RTRIM(g.location)) AS location,
    lp.metro,
    lp.state,
    COALESCE(ua.unquoted, g.user_agent) AS user_agent,
    ua.browser,
    ua.os,
    ua.device
FROM (
    SELECT
        o.user_id,
        o.session_id,
        MIN(o.start_time) AS started_at,
        MAX(o.start_time) AS ended_at,
        CAST(FLOOR((MAX(o.ts) - MIN(o.ts)) / 1000.0) AS BIGINT) AS seconds,
        COUNT(*) AS events,
        SUM(CASE WHEN o.page = 'NextSong' THEN 1 ELSE 0 END) AS plays,
        MAX(CASE WHEN o.from_start = 1 THEN o.level END) AS first_level,
        MAX(CASE WHEN o.from_start = o.session_events THEN o.level END) AS last_level,
        MAX(CASE WHEN o.from_start = 1 THEN o.location END) AS location,
        MAX(CASE WHEN o.from_start = 1 THEN o.user_agent END) AS user_agent
    FROM (
        SELECT
            e.user_id,
            e.session_id,
            e.ts,
            e.start_time,
            e.page,
            e.level,
            e.location,
            e.user_agent,
            ROW_NUMBER() OVER (
                PARTITION BY e.user_id, e.session_id ORDER BY e.ts ASC, e.item_in_session ASC, e.page ASC
            ) AS from_start,
            COUNT(*) OVER (PARTITION BY e.user_id, e.session_id) AS session_events
        FROM session_events AS e
    ) AS o
    GROUP BY o.user_id, o.session_id
) AS g
LEFT JOIN location_parts AS lp ON RTRIM(g.location) = lp.location
LEFT JOIN user_agent_parts AS ua ON RTRIM(g.user_agent) = ua.user_agent
ORDER BY g.started_at;

-- postgres: SELECT BRIN_SUMMARIZE_NEW_VALUES('sessions_started_at');
