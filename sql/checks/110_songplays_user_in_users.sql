-- every songplay's user is in users
SELECT
    p.songplay_id,
    p.user_id
FROM songplays AS p
LEFT JOIN users AS u ON p.user_id = u.user_id
WHERE u.user_id IS NULL;

-- scoped: the plays the transform rebuilt (scope_plays), found through the start times they span
SELECT
    p.songplay_id,
    p.user_id
FROM songplays AS p
LEFT JOIN users AS u ON p.user_id = u.user_id
WHERE
    u.user_id IS NULL
    AND p.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
    AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
    AND p.songplay_id IN (SELECT s.songplay_id FROM scope_plays AS s);
