-- load_errors: every record that was read but could not be staged, with where it came from and why (Redshift).
-- Grain: one row per rejected record (load_id, source_file, line_number).
-- Rejected by the loader's parser or by COPY (read back from sys_load_error_detail); raw_line holds the
-- start of the record. VARCHAR lengths count bytes on Redshift, hence 4000 for up to 1000 characters.
-- Keys: EVEN, rarely joined; sorted by load_id so one load's rejects are read as a range.
CREATE TABLE load_errors (
    load_id VARCHAR(40) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    source_file VARCHAR(1024) NOT NULL,
    line_number INTEGER NOT NULL,
    reason VARCHAR(4000) NOT NULL,
    raw_line VARCHAR(4000),
    logged_at TIMESTAMP NOT NULL
)
DISTSTYLE EVEN
SORTKEY (load_id);
