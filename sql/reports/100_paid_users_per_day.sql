-- How many users are on each tier, day by day?
-- Grain: one row per day with plays (UTC), from the first to the last: the users on the free and on the
-- paid tier at the end of that day, from their periods in user_levels (a user counts from their first
-- play on).
-- chart: line day paid_users
SELECT
    d.day,
    COUNT(CASE WHEN l.level = 'paid' THEN 1 END) AS paid_users,
    COUNT(CASE WHEN l.level = 'free' THEN 1 END) AS free_users
FROM (
    SELECT DISTINCT CAST(start_time AS DATE) AS day
    FROM time
) AS d
INNER JOIN user_levels AS l
    ON l.valid_from < d.day + 1 AND (l.valid_to IS NULL OR l.valid_to >= d.day + 1)
GROUP BY d.day
ORDER BY d.day;
