-- Who downgrades, and who leaves?
-- Grain: one row per page of the way out, in order: Downgrade (the page visited), Submit Downgrade (a
-- paid user goes free), Cancel and Cancellation Confirmation (the user leaves: churn), each with its
-- events and users; played_after counts the users who played a song after their first such event
-- (a cancelled user should have none).
-- chart: barh page users
SELECT
    w.step,
    w.page,
    COUNT(e.event_id) AS events,
    COUNT(DISTINCT e.user_id) AS users,
    COUNT(DISTINCT a.user_id) AS played_after
FROM (
    SELECT
        1 AS step,
        'Downgrade' AS page
    UNION ALL
    SELECT
        2 AS step,
        'Submit Downgrade' AS page
    UNION ALL
    SELECT
        3 AS step,
        'Cancel' AS page
    UNION ALL
    SELECT
        4 AS step,
        'Cancellation Confirmation' AS page
) AS w
LEFT JOIN page_events AS e ON w.page = e.page
LEFT JOIN (
    SELECT
        f.page,
        f.user_id
    FROM (
        SELECT
            page,
            user_id,
            MIN(start_time) AS first_at
        FROM page_events
        WHERE page IN ('Downgrade', 'Submit Downgrade', 'Cancel', 'Cancellation Confirmation')
        GROUP BY page, user_id
    ) AS f
    WHERE EXISTS (
        SELECT 1
        FROM songplays AS p
        WHERE p.user_id = f.user_id AND p.start_time > f.first_at
    )
) AS a ON e.page = a.page AND e.user_id = a.user_id
GROUP BY w.step, w.page
ORDER BY w.step;
