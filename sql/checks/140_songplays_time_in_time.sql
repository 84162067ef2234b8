-- every songplay's start_time is in time
SELECT
    p.songplay_id,
    p.start_time
FROM songplays AS p
LEFT JOIN time AS t ON p.start_time = t.start_time
WHERE t.start_time IS NULL;
