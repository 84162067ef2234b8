-- every songplay's user is in users
SELECT
    p.songplay_id,
    p.user_id
FROM songplays AS p
LEFT JOIN users AS u ON p.user_id = u.user_id
WHERE u.user_id IS NULL;
