-- How many free users go on to pay?
-- Grain: one row per step of the funnel, in order: users who visited the Upgrade page while free; of
-- them, users who submitted an upgrade (Submit Upgrade) after that visit; of those, users who played
-- a song as paid after submitting. A user counts once per step, from their first Upgrade visit.
-- chart: barh step users
SELECT
    s.step,
    s.name AS step_name,
    s.users
FROM (
    SELECT
        1 AS step,
        'visited Upgrade while free' AS name,
        COUNT(*) AS users
    FROM (
        SELECT DISTINCT user_id
        FROM page_events
        WHERE page = 'Upgrade' AND level = 'free'
    ) AS visited
    UNION ALL
    SELECT
        2 AS step,
        'then submitted an upgrade' AS name,
        COUNT(DISTINCT v.user_id) AS users
    FROM (
        SELECT
            user_id,
            MIN(start_time) AS first_visit
        FROM page_events
        WHERE page = 'Upgrade' AND level = 'free'
        GROUP BY user_id
    ) AS v
    INNER JOIN page_events AS e
        ON v.user_id = e.user_id AND e.page = 'Submit Upgrade' AND v.first_visit <= e.start_time
    UNION ALL
    SELECT
        3 AS step,
        'then played as paid' AS name,
        COUNT(DISTINCT su.user_id) AS users
    FROM (
        SELECT
            v.user_id,
            MIN(e.start_time) AS submitted
        FROM (
            SELECT
                user_id,
                MIN(start_time) AS first_visit
            FROM page_events
            WHERE page = 'Upgrade' AND level = 'free'
            GROUP BY user_id
        ) AS v
        INNER JOIN page_events AS e
            ON v.user_id = e.user_id AND e.page = 'Submit Upgrade' AND v.first_visit <= e.start_time
        GROUP BY v.user_id
    ) AS su
    INNER JOIN songplays AS p
        ON su.user_id = p.user_id AND p.level = 'paid' AND su.submitted < p.start_time
) AS s
ORDER BY s.step;
