-- time (dimension): one row per distinct songplays.start_time, broken into calendar parts (UTC).
-- weekday: 0 = Sunday .. 6 = Saturday; week: ISO week number.
-- Redshift: DISTKEY and SORTKEY start_time as songplays, so their join is on-slice and range-restricted.
CREATE TABLE time (
    start_time TIMESTAMP NOT NULL PRIMARY KEY,
    hour SMALLINT NOT NULL,
    day SMALLINT NOT NULL,
    week SMALLINT NOT NULL,
    month SMALLINT NOT NULL,
    year SMALLINT NOT NULL,
    weekday SMALLINT NOT NULL
)
-- redshift: DISTSTYLE KEY DISTKEY (start_time) SORTKEY (start_time)
;
