-- staging_events, staging_songs, load_files, load_errors: unlogged, so a bulk load writes no WAL.
-- Grain: unchanged. Staging is rebuilt from the sources at will, so it need not survive a crash:
-- after one PostgreSQL empties every unlogged table, the ledger (load_files) with the staged rows,
-- and the next load stages every file again. The star tables stay logged.
ALTER TABLE staging_events SET UNLOGGED;

ALTER TABLE staging_songs SET UNLOGGED;

ALTER TABLE load_files SET UNLOGGED;

ALTER TABLE load_errors SET UNLOGGED;
