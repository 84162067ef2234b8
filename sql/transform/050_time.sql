-- time: rebuilt from songplays, one row per distinct start_time, in UTC.
-- weekday: 0 = Sunday .. 6 = Saturday; week: ISO week number.
-- Inserted in key order, so the primary key index grows at its end instead of splitting pages.
DELETE FROM time;

INSERT INTO time (start_time, hour, day, week, month, year, weekday)
SELECT
    start_time,
    CAST(EXTRACT(HOUR FROM start_time) AS SMALLINT) AS hour,
    CAST(EXTRACT(DAY FROM start_time) AS SMALLINT) AS day,
    CAST(EXTRACT(WEEK FROM start_time) AS SMALLINT) AS week,
    CAST(EXTRACT(MONTH FROM start_time) AS SMALLINT) AS month,
    CAST(EXTRACT(YEAR FROM start_time) AS SMALLINT) AS year,
    CAST(EXTRACT(DOW FROM start_time) AS SMALLINT) AS weekday
FROM (SELECT DISTINCT start_time FROM songplays) AS played
ORDER BY start_time;
