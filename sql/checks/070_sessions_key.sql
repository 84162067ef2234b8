-- sessions: (user_id, session_id) is present and unique
-- The key is grouped as values (user_id || '', the session as text), not as the columns, as in
-- 010_songplays_key.sql: a plan may take a key for unique while the gate is still proving it.
SELECT
    k.user_id,
    k.session_id,
    COUNT(*) AS copies
FROM (
    SELECT
        user_id || '' AS user_id,
        COALESCE(CAST(session_id AS VARCHAR(20)), '') AS session_id
    FROM sessions
) AS k
GROUP BY k.user_id, k.session_id
HAVING k.user_id IS NULL OR k.user_id = '' OR COUNT(*) > 1;

-- scoped: the sessions the transform rebuilt (scope_sessions), found through the start times they span
SELECT
    k.user_id,
    k.session_id,
    COUNT(*) AS copies
FROM (
    SELECT
        s.user_id || '' AS user_id,
        COALESCE(CAST(s.session_id AS VARCHAR(20)), '') AS session_id
    FROM sessions AS s
    INNER JOIN scope_sessions AS c
        ON
            s.user_id = c.user_id
            AND (s.session_id = c.session_id OR (s.session_id IS NULL AND c.session_id IS NULL))
    WHERE
        s.started_at BETWEEN (SELECT w.from_time FROM session_span AS w)
        AND (SELECT w.to_time FROM session_span AS w)
) AS k
GROUP BY k.user_id, k.session_id
HAVING COUNT(*) > 1;
