-- songplays.songplay_id is present and unique
-- A check passes when its query returns no rows; each row returned is one violation. The gate runs
-- every check inside the transform's transaction, before it commits (sparkify_dwh/checks.py).
-- The key is grouped as a value (songplay_id || ''), not as the declared column: Redshift's planner
-- "assumes that all keys in Amazon Redshift tables are valid as loaded ... a SELECT DISTINCT query might
-- return duplicate rows if the primary key is not unique" (Developer Guide, t_Defining_constraints), and
-- the gate runs while a key is still unproven; no plan can take a value for a key.
SELECT
    k.songplay_id,
    COUNT(*) AS copies
FROM (
    SELECT songplay_id || '' AS songplay_id
    FROM songplays
) AS k
GROUP BY k.songplay_id
HAVING k.songplay_id IS NULL OR COUNT(*) > 1;

-- scoped: the plays the transform rebuilt (scope_plays), found through the start times they span
SELECT
    k.songplay_id,
    COUNT(*) AS copies
FROM (
    SELECT p.songplay_id || '' AS songplay_id
    FROM songplays AS p
    WHERE
        p.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
        AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
        AND p.songplay_id IN (SELECT s.songplay_id FROM scope_plays AS s)
) AS k
GROUP BY k.songplay_id
HAVING COUNT(*) > 1;
