-- How many people listen each day?
-- Grain: one row per calendar day (UTC) with at least one play, in date order; a day without plays
-- has no row.
-- chart: line day active_users
SELECT
    CAST(start_time AS DATE) AS day,
    COUNT(DISTINCT user_id) AS active_users,
    COUNT(*) AS plays
FROM songplays
GROUP BY CAST(start_time AS DATE)
ORDER BY day;
