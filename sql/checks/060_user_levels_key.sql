-- user_levels: (user_id, valid_from) is present and unique
-- The key grouped as a value, as in 010_songplays_key.sql.
SELECT
    k.user_id,
    k.valid_from,
    COUNT(*) AS copies
FROM (
    SELECT
        CAST(valid_from AS VARCHAR(32)) AS valid_from,
        user_id || '' AS user_id
    FROM user_levels
) AS k
GROUP BY k.user_id, k.valid_from
HAVING k.user_id IS NULL OR k.valid_from IS NULL OR COUNT(*) > 1;

-- scoped: the histories the transform rebuilt (those of scope_users)
SELECT
    k.user_id,
    k.valid_from,
    COUNT(*) AS copies
FROM (
    SELECT
        CAST(l.valid_from AS VARCHAR(32)) AS valid_from,
        l.user_id || '' AS user_id
    FROM user_levels AS l
    WHERE l.user_id IN (SELECT s.user_id FROM scope_users AS s)
) AS k
GROUP BY k.user_id, k.valid_from
HAVING COUNT(*) > 1;
