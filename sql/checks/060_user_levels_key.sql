-- user_levels: (user_id, valid_from) is present and unique
SELECT
    user_id,
    valid_from,
    COUNT(*) AS copies
FROM user_levels
GROUP BY user_id, valid_from
HAVING user_id IS NULL OR valid_from IS NULL OR COUNT(*) > 1;
