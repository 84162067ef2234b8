-- check_runs: the history of the data checks, each time they ran.
-- Grain: one row per check per run: the gate of a load (command load, run_id its load id, the
-- transform committed or not) or a bin/verify (command verify, run_id its own). status is passed,
-- failed or warned; violations counts the rows that break it (never the rows themselves).
-- Plain columns, the same on both warehouses. Redshift: ALL, small; sorted by time.
CREATE TABLE check_runs (
    run_id VARCHAR(40) NOT NULL,
    command VARCHAR(16) NOT NULL,
    check_name VARCHAR(200) NOT NULL,
    severity VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    violations BIGINT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, check_name)
)
-- redshift: DISTSTYLE ALL SORTKEY (checked_at)
;
