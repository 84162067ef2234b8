-- load_runs: the history of loads (bin/load, bin/stage, bin/backfill), kept for operators.
-- Grain: one row per run that reached the warehouse, failed ones included (written after the run, in a
-- transaction of its own, so a run whose work rolled back still leaves its row).
-- status is ok or failed; exit_code is the command's (0, 1 a data check, 3 over MAX_ERRORS, 4 a file that
-- could not be read, 75 transient); *_seconds are the steps' wall-clock times (NULL for a step not reached);
-- *_rows the star tables' rows after the run; unknown_fields lists fields the parser did not know, with
-- the records holding each ("newField 1, other 3"); message is the failure's one line, secrets masked.
-- Plain columns, the same on both warehouses.
CREATE TABLE load_runs (
    load_id VARCHAR(40) NOT NULL PRIMARY KEY,
    command VARCHAR(32) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    status VARCHAR(16) NOT NULL,
    exit_code INTEGER NOT NULL,
    prepare_seconds DOUBLE PRECISION,
    migrate_seconds DOUBLE PRECISION,
    stage_seconds DOUBLE PRECISION,
    transform_seconds DOUBLE PRECISION,
    maintain_seconds DOUBLE PRECISION,
    files_found INTEGER,
    files_loaded INTEGER,
    records_read BIGINT,
    rows_staged BIGINT,
    records_rejected BIGINT,
    songplays_rows BIGINT,
    users_rows BIGINT,
    songs_rows BIGINT,
    artists_rows BIGINT,
    time_rows BIGINT,
    user_levels_rows BIGINT,
    unknown_fields VARCHAR(1024),
    message VARCHAR(1024)
)
-- redshift: DISTSTYLE ALL SORTKEY (started_at)
;
