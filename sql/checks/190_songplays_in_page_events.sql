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

-- scoped: the plays the transform rebuilt (scope_plays), found through the start times they span, and the
-- page events of those start times only (a play and its event share its start time): each side found through
-- start_time (its BRIN index on PostgreSQL, its sort key's block ranges on Redshift), not all of page_events
SELECT
    p.songplay_id,
    p.user_id,
    p.start_time
FROM songplays AS p
LEFT JOIN (
    SELECT
        w.event_id,
        w.user_id,
        w.session_id,
        w.start_time
    FROM page_events AS w
    WHERE
        w.page = 'NextSong'
        AND w.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
        AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
) AS e
    ON
        p.user_id = e.user_id
        AND p.start_time = e.start_time
        AND (p.session_id = e.session_id OR (p.session_id IS NULL AND e.session_id IS NULL))
WHERE
    e.event_id IS NULL
    AND p.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
    AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
    AND p.songplay_id IN (SELECT s.songplay_id FROM scope_plays AS s);
