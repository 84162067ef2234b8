-- every songplay's start_time is in time
SELECT
    p.songplay_id,
    p.start_time
FROM songplays AS p
LEFT JOIN time AS t ON p.start_time = t.start_time
WHERE t.start_time IS NULL;

-- scoped: every play at a start time of the plays the transform rebuilt (scope_plays), theirs and others':
-- the transform deletes and rebuilds the time rows of those start times
SELECT
    p.songplay_id,
    p.start_time
FROM songplays AS p
LEFT JOIN time AS t ON p.start_time = t.start_time
WHERE
    t.start_time IS NULL
    AND p.start_time BETWEEN (SELECT MIN(x.start_time) FROM scope_plays AS x)
    AND (SELECT MAX(x.start_time) FROM scope_plays AS x)
    AND p.start_time IN (SELECT x.start_time FROM scope_plays AS x);
