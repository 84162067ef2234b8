-- time (dimension): one row per distinct songplays.start_time, broken into calendar parts (UTC).
-- weekday: 0 = Sunday .. 6 = Saturday; week: ISO week number.
CREATE TABLE time (
    start_time TIMESTAMP NOT NULL PRIMARY KEY,
    hour SMALLINT NOT NULL,
    day SMALLINT NOT NULL,
    week SMALLINT NOT NULL,
    month SMALLINT NOT NULL,
    year SMALLINT NOT NULL,
    weekday SMALLINT NOT NULL
);
