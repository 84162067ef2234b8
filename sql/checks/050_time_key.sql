-- time.start_time is present and unique
-- The key grouped as a value (its text), as in 010_songplays_key.sql.
SELECT
    k.start_time,
    COUNT(*) AS copies
FROM (
    SELECT CAST(start_time AS VARCHAR(32)) AS start_time
    FROM time
) AS k
GROUP BY k.start_time
HAVING k.start_time IS NULL OR COUNT(*) > 1;

-- scoped: the start times of the plays the transform rebuilt (scope_plays)
SELECT
    k.start_time,
    COUNT(*) AS copies
FROM (
    SELECT CAST(t.start_time AS VARCHAR(32)) AS start_time
    FROM time AS t
    WHERE
        t.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
        AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
        AND t.start_time IN (SELECT s.start_time FROM scope_plays AS s)
) AS k
GROUP BY k.start_time
HAVING COUNT(*) > 1;
