-- every page event's session is in sessions, and the session's span holds it
SELECT
    e.event_id,
    e.user_id,
    e.session_id
FROM page_events AS e
LEFT JOIN sessions AS s
    ON
        e.user_id = s.user_id
        AND (e.session_id = s.session_id OR (e.session_id IS NULL AND s.session_id IS NULL))
        AND e.start_time BETWEEN s.started_at AND s.ended_at
WHERE s.user_id IS NULL;

-- scoped: the page events of the sessions the transform rebuilt (scope_sessions), through their span
SELECT
    e.event_id,
    e.user_id,
    e.session_id
FROM page_events AS e
INNER JOIN scope_sessions AS c
    ON
        e.user_id = c.user_id
        AND (e.session_id = c.session_id OR (e.session_id IS NULL AND c.session_id IS NULL))
LEFT JOIN sessions AS s
    ON
        e.user_id = s.user_id
        AND (e.session_id = s.session_id OR (e.session_id IS NULL AND s.session_id IS NULL))
        AND e.start_time BETWEEN s.started_at AND s.ended_at
WHERE
    s.user_id IS NULL
    AND e.start_time BETWEEN (SELECT w.from_time FROM session_span AS w)
    AND (SELECT w.to_time FROM session_span AS w);
