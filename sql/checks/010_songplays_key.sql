-- songplays.songplay_id is present and unique
-- A check passes when its query returns no rows; each row returned is one violation.
SELECT
    songplay_id,
    COUNT(*) AS copies
FROM songplays
GROUP BY songplay_id
HAVING songplay_id IS NULL OR COUNT(*) > 1;
