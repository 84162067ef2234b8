-- Who listens most?
-- Grain: one row per user; the 10 with the most plays, ties by user_id. level is the level of the
-- user's latest play.
-- chart: barh user_name plays
SELECT
    p.user_id,
    u.level,
    u.first_name || ' ' || u.last_name AS user_name,
    COUNT(*) AS plays,
    COUNT(DISTINCT p.session_id) AS sessions
FROM songplays AS p
INNER JOIN users AS u ON p.user_id = u.user_id
GROUP BY p.user_id, u.first_name, u.last_name, u.level
ORDER BY COUNT(*) DESC, p.user_id ASC
LIMIT 10;
