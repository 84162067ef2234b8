-- Which days of the week do people listen?
-- Grain: one row per weekday (UTC) with at least one play, Sunday (0) to Saturday (6).
-- chart: bar weekday_name plays
SELECT
    t.weekday,
    CASE t.weekday
        WHEN 0 THEN 'Sunday'
        WHEN 1 THEN 'Monday'
        WHEN 2 THEN 'Tuesday'
        WHEN 3 THEN 'Wednesday'
        WHEN 4 THEN 'Thursday'
        WHEN 5 THEN 'Friday'
        WHEN 6 THEN 'Saturday'
    END AS weekday_name,
    COUNT(*) AS plays,
    COUNT(DISTINCT p.user_id) AS users
FROM songplays AS p
INNER JOIN time AS t ON p.start_time = t.start_time
GROUP BY t.weekday
ORDER BY t.weekday;
