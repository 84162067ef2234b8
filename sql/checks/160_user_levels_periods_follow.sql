-- a user's periods follow one another: each ends where the next begins, and changes level
-- Each row names a period whose end is not the next period's start, or whose level the next repeats.
SELECT
    user_id,
    valid_from,
    valid_to,
    next_from
FROM (
    SELECT
        user_id,
        valid_from,
        valid_to,
        level,
        LEAD(valid_from) OVER (PARTITION BY user_id ORDER BY valid_from) AS next_from,
        LEAD(level) OVER (PARTITION BY user_id ORDER BY valid_from) AS next_level
    FROM user_levels
) AS periods
WHERE
    (valid_to IS NULL AND next_from IS NOT NULL)
    OR valid_to <> next_from
    OR COALESCE(level, '') = COALESCE(next_level, '-');

-- scoped: the histories the transform rebuilt (scope_users)
SELECT
    user_id,
    valid_from,
    valid_to,
    next_from
FROM (
    SELECT
        l.user_id,
        l.valid_from,
        l.valid_to,
        l.level,
        LEAD(l.valid_from) OVER (PARTITION BY l.user_id ORDER BY l.valid_from) AS next_from,
        LEAD(l.level) OVER (PARTITION BY l.user_id ORDER BY l.valid_from) AS next_level
    FROM user_levels AS l
    WHERE l.user_id IN (SELECT s.user_id FROM scope_users AS s)
) AS periods
WHERE
    (valid_to IS NULL AND next_from IS NOT NULL)
    OR valid_to <> next_from
    OR COALESCE(level, '') = COALESCE(next_level, '-');
