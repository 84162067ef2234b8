-- When in the day do people listen?
-- Grain: one row per hour of the day (UTC) with at least one play, in hour order.
-- chart: bar hour plays
SELECT
    t.hour,
    COUNT(*) AS plays,
    COUNT(DISTINCT p.user_id) AS users
FROM songplays AS p
INNER JOIN time AS t ON p.start_time = t.start_time
GROUP BY t.hour
ORDER BY t.hour;
