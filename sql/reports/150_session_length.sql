-- How long are sessions, and how many songs do they hold?
-- Grain: one row per band of songs played in a session (0, 1, 2 to 5, 6 to 10, 11 to 20, 21 to 50, over
-- 50), in band order, with at least one session: sessions, their average length in minutes (first to
-- last event) and average events.
-- The columns stand in the order the answer reads (sqlfluff ST06 would move the averages last).
-- chart: bar songs_per_session sessions
SELECT  -- noqa: ST06
    b.band,
    b.songs_per_session,
    COUNT(*) AS sessions,
    -- averages as a sum over a count: Redshift's AVG page, "BIGINT for any integer type argument" and
    -- "the same data type as expression for any other argument type" (a decimal keeps its scale)
    CAST(ROUND(1.0 * SUM(b.seconds) / COUNT(*) / 60.0, 1) AS DECIMAL(10, 1)) AS avg_minutes,
    CAST(ROUND(1.0 * SUM(b.events) / COUNT(*), 1) AS DECIMAL(10, 1)) AS avg_events
FROM (
    SELECT
        seconds,
        events,
        CASE
            WHEN plays = 0 THEN 1
            WHEN plays = 1 THEN 2
            WHEN plays <= 5 THEN 3
            WHEN plays <= 10 THEN 4
            WHEN plays <= 20 THEN 5
            WHEN plays <= 50 THEN 6
            ELSE 7
        END AS band,
        CASE
            WHEN plays = 0 THEN '0'
            WHEN plays = 1 THEN '1'
            WHEN plays <= 5 THEN '2-5'
            WHEN plays <= 10 THEN '6-10'
            WHEN plays <= 20 THEN '11-20'
            WHEN plays <= 50 THEN '21-50'
            ELSE 'over 50'
        END AS songs_per_session
    FROM sessions
) AS b
GROUP BY b.band, b.songs_per_session
ORDER BY b.band;
