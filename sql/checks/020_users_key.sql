-- users.user_id is present and unique
SELECT
    user_id,
    COUNT(*) AS copies
FROM users
GROUP BY user_id
HAVING user_id IS NULL OR user_id = '' OR COUNT(*) > 1;
