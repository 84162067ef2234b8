-- Who changed tier (free to paid, paid to free), and when?
-- Grain: one row per change: a play whose level differs from the same user's previous play, in
-- play order (start time, then session). The change happened between previous_play and changed_at.
-- The 50 most recent changes, newest first, ties by user_id. user_levels holds the same history as
-- periods.
SELECT
    c.changed_at,
    c.user_id,
    c.from_level,
    c.to_level,
    c.previous_play,
    u.first_name || ' ' || u.last_name AS user_name
FROM (
    SELECT
        user_id,
        start_time AS changed_at,
        level AS to_level,
        LAG(level) OVER (PARTITION BY user_id ORDER BY start_time, session_id, songplay_id) AS from_level,
        LAG(start_time) OVER (PARTITION BY user_id ORDER BY start_time, session_id, songplay_id) AS previous_play
    FROM songplays
) AS c
INNER JOIN users AS u ON c.user_id = u.user_id
WHERE c.from_level <> c.to_level
ORDER BY c.changed_at DESC, c.user_id DESC
LIMIT 50;
