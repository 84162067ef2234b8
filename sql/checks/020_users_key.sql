-- users.user_id is present and unique
-- The key grouped as a value, as in 010_songplays_key.sql.
SELECT
    k.user_id,
    COUNT(*) AS copies
FROM (
    SELECT user_id || '' AS user_id
    FROM users
) AS k
GROUP BY k.user_id
HAVING k.user_id IS NULL OR k.user_id = '' OR COUNT(*) > 1;

-- scoped: the users the transform rebuilt (scope_users)
SELECT
    k.user_id,
    COUNT(*) AS copies
FROM (
    SELECT u.user_id || '' AS user_id
    FROM users AS u
    WHERE u.user_id IN (SELECT s.user_id FROM scope_users AS s)
) AS k
GROUP BY k.user_id
HAVING k.user_id = '' OR COUNT(*) > 1;
