-- time.start_time is present and unique
SELECT
    start_time,
    COUNT(*) AS copies
FROM time
GROUP BY start_time
HAVING start_time IS NULL OR COUNT(*) > 1;
