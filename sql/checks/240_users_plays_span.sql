-- users' first and last play are the first and last of their songplays
SELECT
    u.user_id,
    u.first_play,
    u.last_play,
    p.first_play AS first_in_songplays,
    p.last_play AS last_in_songplays
FROM users AS u
INNER JOIN (
    SELECT
        user_id,
        MIN(start_time) AS first_play,
        MAX(start_time) AS last_play
    FROM songplays
    GROUP BY user_id
) AS p ON u.user_id = p.user_id
WHERE
    u.first_play IS NULL OR u.last_play IS NULL
    OR u.first_play <> p.first_play OR u.last_play <> p.last_play;

-- scoped: the users the transform rebuilt (scope_users)
SELECT
    u.user_id,
    u.first_play,
    u.last_play,
    p.first_play AS first_in_songplays,
    p.last_play AS last_in_songplays
FROM users AS u
INNER JOIN (
    SELECT
        user_id,
        MIN(start_time) AS first_play,
        MAX(start_time) AS last_play
    FROM songplays
    WHERE user_id IN (SELECT s.user_id FROM scope_users AS s)
    GROUP BY user_id
) AS p ON u.user_id = p.user_id
WHERE
    u.first_play IS NULL OR u.last_play IS NULL
    OR u.first_play <> p.first_play OR u.last_play <> p.last_play;
