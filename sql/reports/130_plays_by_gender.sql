-- How do women and men listen?
-- Grain: one row per gender of users (as the logs give it), in gender order: plays, listeners, plays a
-- listener, and the share of plays.
-- The columns stand in the order the answer reads (sqlfluff ST06 would move the ratios last).
-- chart: bar gender plays
SELECT  -- noqa: ST06
    u.gender,
    COUNT(*) AS plays,
    COUNT(DISTINCT p.user_id) AS listeners,
    CAST(ROUND(1.0 * COUNT(*) / COUNT(DISTINCT p.user_id), 1) AS DECIMAL(10, 1)) AS plays_per_listener,
    CAST(ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS DECIMAL(4, 1)) AS share_of_plays_pct
FROM songplays AS p
INNER JOIN users AS u ON p.user_id = u.user_id
GROUP BY u.gender
ORDER BY u.gender;
