-- every songplay is a NextSong page event of the same user, session and time
SELECT
    p.songplay_id,
    p.user_id,
    p.start_time
FROM songplays AS p
LEFT JOIN page_events AS e
    ON
        p.user_id = e.user_id
        AND p.start_time = e.start_time
        AND e.page = 'NextSong'
        AND (p.session_id = e.session_id OR (p.session_id IS NULL AND e.session_id IS NULL))
WHERE e.event_id IS NULL;
