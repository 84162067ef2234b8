-- load_files: the ledger of source files loaded into staging.
-- Grain: one row per source file (its full URI or path), the version of it now in staging.
-- A file whose size or version (S3 ETag, or modification time) differs from its row is read again and
-- its earlier rows replaced; records_read = rows_staged + records_rejected for every file.
-- The key is enforced on PostgreSQL, informational on Redshift (the loader keeps it).
-- PostgreSQL: unlogged, emptied with the staging rows it describes after a crash.
-- Redshift: ALL, a small ledger read whole by each load; sorted by file.
CREATE TABLE load_files (
    source_file VARCHAR(1024) NOT NULL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    size_bytes BIGINT NOT NULL,
    version VARCHAR(128) NOT NULL,
    load_id VARCHAR(40) NOT NULL,
    records_read BIGINT NOT NULL,
    rows_staged BIGINT NOT NULL,
    records_rejected BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (source_file)
;

-- postgres: ALTER TABLE load_files SET UNLOGGED;
