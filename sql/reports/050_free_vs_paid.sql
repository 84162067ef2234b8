-- How do free and paid listening compare?
-- Grain: one row per level (free, paid), in name order.
-- plays and users_who_played count plays at that level (a user who changed level counts under
-- both); users_now counts users by the level of their latest play (the users table).
-- chart: barh level plays
SELECT
    p.level,
    p.plays,
    p.users_who_played,
    CAST(ROUND(100.0 * p.plays / SUM(p.plays) OVER (), 1) AS DECIMAL(4, 1)) AS share_of_plays_pct,
    COALESCE(u.users_now, 0) AS users_now
FROM (
    SELECT
        level,
        COUNT(*) AS plays,
        COUNT(DISTINCT user_id) AS users_who_played
    FROM songplays
    GROUP BY level
) AS p
LEFT JOIN (
    SELECT
        level,
        COUNT(*) AS users_now
    FROM users
    GROUP BY level
) AS u ON p.level = u.level
ORDER BY p.level;
