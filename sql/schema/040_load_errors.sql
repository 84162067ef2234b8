-- load_errors: every record that was read but could not be staged, with where it came from and why.
-- Grain: one row per rejected record (load_id, source_file, line_number).
-- Rejected by the parser (both warehouses alike) or by Redshift's COPY (read back from
-- sys_load_error_detail). raw_line holds the start of the record (at most 1000 characters, which
-- is 4000 bytes of UTF-8 at most), for a person to read and fix; reason at most 1000 bytes.
-- PostgreSQL: unlogged, like the ledger. Redshift: EVEN, rarely joined; sorted by load.
CREATE TABLE load_errors (
    load_id VARCHAR(40) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    source_file VARCHAR(1024) NOT NULL,
    line_number INTEGER NOT NULL,
    reason VARCHAR(1000) NOT NULL,
    raw_line VARCHAR(4000),
    logged_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE EVEN SORTKEY (load_id)
;

-- postgres: ALTER TABLE load_errors SET UNLOGGED;
