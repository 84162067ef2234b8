-- sessions: (user_id, session_id) is present and unique
SELECT
    user_id,
    session_id,
    COUNT(*) AS copies
FROM sessions
GROUP BY user_id, session_id
HAVING user_id IS NULL OR user_id = '' OR COUNT(*) > 1;
