-- How does listening go week by week?
-- Grain: one row per ISO week with plays, in order, named by its ISO year (the year of the week's
-- Thursday, which differs from the calendar year around New Year) and number: plays and listeners.
-- time.week is the ISO week; its year is worked out from the calendar year and month, as Redshift's date
-- parts (DATE_PART) have no ISO year.
-- chart: bar iso_week plays
SELECT
    CAST(w.iso_year AS VARCHAR(4)) || '-W' || LPAD(CAST(w.week AS VARCHAR(2)), 2, '0') AS iso_week,
    COUNT(*) AS plays,
    COUNT(DISTINCT w.user_id) AS listeners
FROM (
    SELECT
        t.week,
        p.user_id,
        CASE
            WHEN t.week >= 52 AND t.month = 1 THEN t.year - 1
            WHEN t.week = 1 AND t.month = 12 THEN t.year + 1
            ELSE t.year
        END AS iso_year
    FROM songplays AS p
    INNER JOIN time AS t ON p.start_time = t.start_time
) AS w
GROUP BY w.iso_year, w.week
ORDER BY w.iso_year, w.week;
