-- load_runs: the history of loads, for a person or a dashboard to see how the daily load goes.
-- Grain: one row per load (bin/load, bin/stage, bin/backfill) that reached the warehouse, failed
-- ones included (written in a transaction of its own after the load ended, however it ended).
-- status is succeeded or failed; exit_code is the command's (see the README, Running unattended);
-- attempts counts the tries of a run that met a transient failure. error: the failure's first line,
-- never a record's content. Seconds per step and rows per star table (after the load) are columns;
-- unknown_fields lists the fields the records held that the loader does not know, as `name records`.
-- Plain columns, the same on both warehouses. Redshift: ALL, a few rows a day; sorted by start.
CREATE TABLE load_runs (
    load_id VARCHAR(40) NOT NULL PRIMARY KEY,
    command VARCHAR(16) NOT NULL,
    warehouse VARCHAR(16) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    status VARCHAR(16) NOT NULL,
    exit_code INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error VARCHAR(1000),
    prepare_seconds DOUBLE PRECISION,
    migrate_seconds DOUBLE PRECISION,
    stage_seconds DOUBLE PRECISION,
    transform_seconds DOUBLE PRECISION,
    count_seconds DOUBLE PRECISION,
    maintain_seconds DOUBLE PRECISION,
    files_found BIGINT,
    files_read BIGINT,
    records_read BIGINT,
    rows_staged BIGINT,
    records_rejected BIGINT,
    unknown_fields VARCHAR(1000),
    songplays_rows BIGINT,
    users_rows BIGINT,
    songs_rows BIGINT,
    artists_rows BIGINT,
    time_rows BIGINT,
    user_levels_rows BIGINT,
    sessions_rows BIGINT,
    page_events_rows BIGINT
)
-- redshift: DISTSTYLE ALL SORTKEY (started_at)
;
