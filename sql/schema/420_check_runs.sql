-- check_runs: the history of data checks, from the publishing gate of each load and from bin/verify.
-- Grain: one row per check per run (run_id is the load's id for the gate, verify's own for a verify).
-- status is passed, failed or warned (a failing check declared a warning); violations the rows it found.
CREATE TABLE check_runs (
    run_id VARCHAR(40) NOT NULL,
    command VARCHAR(32) NOT NULL,
    check_name VARCHAR(200) NOT NULL,
    status VARCHAR(16) NOT NULL,
    violations BIGINT NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, check_name)
)
-- redshift: DISTSTYLE ALL SORTKEY (checked_at)
;
