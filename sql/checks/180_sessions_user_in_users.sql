-- every session's user is in users, unless the user never played a song
-- users holds the users who played; a logged-in user who only visited other pages (user 21 of the public
-- sample: one Home event) keeps their sessions and page events without a users row, and is not a violation.
SELECT
    s.user_id,
    s.session_id
FROM sessions AS s
LEFT JOIN users AS u ON s.user_id = u.user_id
LEFT JOIN (SELECT DISTINCT user_id FROM songplays) AS p ON s.user_id = p.user_id
WHERE u.user_id IS NULL AND (s.plays > 0 OR p.user_id IS NOT NULL);

-- scoped: the sessions the transform rebuilt (scope_sessions), through the start times they span
SELECT
    s.user_id,
    s.session_id
FROM sessions AS s
INNER JOIN scope_sessions AS c
    ON
        s.user_id = c.user_id
        AND (s.session_id = c.session_id OR (s.session_id IS NULL AND c.session_id IS NULL))
LEFT JOIN users AS u ON s.user_id = u.user_id
WHERE
    u.user_id IS NULL
    AND (s.plays > 0 OR s.user_id IN (SELECT x.user_id FROM scope_users AS x))
    AND s.started_at BETWEEN (SELECT w.from_time FROM session_span AS w)
    AND (SELECT w.to_time FROM session_span AS w);
