-- every user has exactly one open period in user_levels, on the level users says they are on
-- Each row names a user whose open periods are not one, or whose level there differs from users.level.
SELECT
    u.user_id,
    u.level,
    COUNT(l.user_id) AS open_periods
FROM users AS u
LEFT JOIN user_levels AS l ON u.user_id = l.user_id AND l.valid_to IS NULL
GROUP BY u.user_id, u.level
HAVING COUNT(l.user_id) <> 1 OR MAX(COALESCE(l.level, '')) <> COALESCE(u.level, '');

-- scoped: the users and histories the transform rebuilt (scope_users)
SELECT
    u.user_id,
    u.level,
    COUNT(l.user_id) AS open_periods
FROM users AS u
LEFT JOIN user_levels AS l ON u.user_id = l.user_id AND l.valid_to IS NULL
WHERE u.user_id IN (SELECT s.user_id FROM scope_users AS s)
GROUP BY u.user_id, u.level
HAVING COUNT(l.user_id) <> 1 OR MAX(COALESCE(l.level, '')) <> COALESCE(u.level, '');
