-- sessions: (user_id, session_id) is present and unique
SELECT
    user_id,
    session_id,
    COUNT(*) AS copies
FROM sessions
GROUP BY user_id, session_id
HAVING user_id IS NULL OR user_id = '' OR COUNT(*) > 1;

-- scoped: the sessions the transform rebuilt (scope_sessions), found through the start times they span
SELECT
    s.user_id,
    s.session_id,
    COUNT(*) AS copies
FROM sessions AS s
INNER JOIN scope_sessions AS c
    ON
        s.user_id = c.user_id
        AND (s.session_id = c.session_id OR (s.session_id IS NULL AND c.session_id IS NULL))
WHERE
    s.started_at BETWEEN (SELECT w.from_time FROM session_span AS w)
    AND (SELECT w.to_time FROM session_span AS w)
GROUP BY s.user_id, s.session_id
HAVING COUNT(*) > 1;
