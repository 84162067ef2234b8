-- time: one row per distinct songplays.start_time, in UTC, rebuilt for the start times in scope: those
-- the plays rebuilt have now (scope_events), and those they had before (scope_times) that other plays
-- still have; all of them on a rebuild.
-- weekday: 0 = Sunday .. 6 = Saturday; week: ISO week number. DATE_PART, not EXTRACT: on PostgreSQL it
-- returns a float, which a SMALLINT takes faster than EXTRACT's numeric.
-- Inserted in key order, so the primary key index grows at its end instead of splitting pages.
DELETE FROM time
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1;

DELETE FROM time
WHERE
    start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_times AS s)
    AND (SELECT MAX(s.start_time) FROM scope_times AS s)
    AND start_time IN (SELECT s.start_time FROM scope_times AS s);

DELETE FROM time
WHERE
    start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_events AS s)
    AND (SELECT MAX(s.start_time) FROM scope_events AS s)
    AND start_time IN (SELECT s.start_time FROM scope_events AS s);

INSERT INTO time (start_time, hour, day, week, month, year, weekday)
SELECT
    played.start_time,
    CAST(DATE_PART('hour', played.start_time) AS SMALLINT) AS hour,
    CAST(DATE_PART('day', played.start_time) AS SMALLINT) AS day,
    CAST(DATE_PART('week', played.start_time) AS SMALLINT) AS week,
    CAST(DATE_PART('month', played.start_time) AS SMALLINT) AS month,
    CAST(DATE_PART('year', played.start_time) AS SMALLINT) AS year,
    CAST(DATE_PART('dow', played.start_time) AS SMALLINT) AS weekday
FROM (
    SELECT DISTINCT a.start_time
    FROM songplays AS a
    WHERE (SELECT run.rebuild FROM transform_run AS run) = 1
    UNION ALL
    SELECT DISTINCT t.start_time
    FROM (
        SELECT e.start_time
        FROM scope_events AS e
        UNION ALL
        SELECT b.start_time
        FROM songplays AS b
        WHERE
            b.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_times AS s)
            AND (SELECT MAX(s.start_time) FROM scope_times AS s)
            AND b.start_time IN (SELECT s.start_time FROM scope_times AS s)
    ) AS t
) AS played
ORDER BY played.start_time;
