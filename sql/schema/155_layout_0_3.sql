-- The layout of release 0.3 for the tables release 0.2 made, their rows kept.
-- Each is copied into a new table of the new layout, which takes its name: Redshift's deep copy
-- (Database Developer Guide, "Performing a deep copy": "Use the original table DDL. If the CREATE TABLE
-- DDL is available, this is the fastest and preferred method"; then "INSERT INTO ... SELECT" from the
-- original, which is dropped, and the copy renamed). Every statement here runs in a transaction block on
-- Redshift (its ALTER TABLE page: "You can't run ALTER TABLE on an external table within a transaction
-- block", and these are not external tables), so the file is one transaction on both warehouses: a crash
-- halfway leaves release 0.2's tables as they were, and the next migrate starts the file over.
-- What changes: source_file is 2048 bytes wide; Redshift sort keys that serve the incremental transform
-- (ts, song_id, load_id); on PostgreSQL byte-order collation of the text the SQL sorts, and BRIN indexes.
-- PostgreSQL: the copies are logged tables from the start, whatever the tables' comments below say of
-- release 0.2 (240_staging_logged.sql, which makes 0.2's unlogged tables logged, finds them so): a crash
-- after this file commits, before 240 does, must not empty staging, whose rows of files gone from the
-- source no load could bring back.
-- songplays is made again, empty: 0.3 keys a play by the MD5 of its key (0.2: a number), and the first
-- transform rebuilds the star from staging (star_loads, which 210 adds, starts empty). No source is
-- read again.

-- staging_events: every record of the activity logs, as read.
-- Grain: one row per JSON line of a log file (source_file, source_line).
-- Fields keep the source's values, names in snake_case. VARCHAR widths count bytes of UTF-8 on Redshift;
-- the parser rejects a wider value on both warehouses (records.py declares the same widths).
-- start_time is ts (epoch ms, UTC) as a timestamp: computed by PostgreSQL, filled by Redshift's COPY
-- (TIMEFORMAT 'epochmillisecs' on a second copy of ts).
-- PostgreSQL: unlogged (staging is rebuilt from the sources at will, so it writes no WAL; a crash
-- empties it together with the ledger and the next load restages); the text the SQL sorts compares
-- byte by byte (COLLATE "C"), Redshift's order ("binary UTF8 ordering"), so ties break alike on both;
-- BRIN indexes on start_time and load_id (logs arrive day by day, loads one after another) find a day's
-- or a load's events without reading the rest, and cost next to nothing to keep.
-- Redshift: EVEN, as song is NULL on non-play events and would skew; sorted by ts (a text sort key's
-- zone maps see only its first 8 bytes, which every source_file shares).
ALTER TABLE staging_events RENAME TO staging_events_0_2;

CREATE TABLE staging_events (
    artist VARCHAR(1024),
    auth VARCHAR(32),
    first_name VARCHAR(256),
    gender VARCHAR(16),
    item_in_session INTEGER,
    last_name VARCHAR(256),
    length DOUBLE PRECISION,
    level VARCHAR(16),
    location VARCHAR(512),
    method VARCHAR(16),
    page VARCHAR(64),
    registration DOUBLE PRECISION,
    session_id BIGINT,
    song VARCHAR(1024),
    status INTEGER,
    ts BIGINT NOT NULL,
    user_agent VARCHAR(1024),
    user_id VARCHAR(64),
    -- postgres: start_time TIMESTAMP GENERATED ALWAYS AS (TIMESTAMP 'epoch' + ts * INTERVAL '1 ms') STORED,
    -- redshift: start_time TIMESTAMP,
    source_file VARCHAR(2048) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
-- redshift: DISTSTYLE EVEN SORTKEY (ts)
;

-- postgres: ALTER TABLE staging_events ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN source_file TYPE VARCHAR(2048) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN song TYPE VARCHAR(1024) COLLATE "C";
-- postgres: ALTER TABLE staging_events ALTER COLUMN artist TYPE VARCHAR(1024) COLLATE "C";
-- postgres: CREATE INDEX staging_events_start_time ON staging_events USING brin (start_time);
-- postgres: CREATE INDEX staging_events_load ON staging_events USING brin (load_id);

INSERT INTO staging_events (
    artist,
    auth,
    first_name,
    gender,
    item_in_session,
    last_name,
    length,
    level,
    location,
    method,
    page,
    registration,
    session_id,
    song,
    status,
    ts,
    user_agent,
    user_id,
    -- redshift: start_time,
    source_file,
    source_line,
    load_id
)
SELECT
    artist,
    auth,
    first_name,
    gender,
    item_in_session,
    last_name,
    length,
    level,
    location,
    method,
    page,
    registration,
    session_id,
    song,
    status,
    ts,
    user_agent,
    user_id,
    -- redshift: start_time,
    source_file,
    source_line,
    load_id
FROM staging_events_0_2;

DROP TABLE staging_events_0_2;

-- staging_songs: every song record of the song metadata files, as read.
-- Grain: one row per JSON object of a song file (source_file, source_line).
-- Fields keep the source's values and names; VARCHAR widths as in staging_events.
-- PostgreSQL: unlogged; source_file and song_id compare byte by byte. Redshift: ALL, small song metadata
-- copied to every node, so matching plays to songs moves no rows; sorted by song_id.
ALTER TABLE staging_songs RENAME TO staging_songs_0_2;

CREATE TABLE staging_songs (
    num_songs INTEGER,
    artist_id VARCHAR(64) NOT NULL,
    artist_latitude DOUBLE PRECISION,
    artist_longitude DOUBLE PRECISION,
    artist_location VARCHAR(1024),
    artist_name VARCHAR(1024),
    song_id VARCHAR(64) NOT NULL,
    title VARCHAR(1024),
    duration DOUBLE PRECISION,
    year INTEGER,
    source_file VARCHAR(2048) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (song_id)
;

-- postgres: ALTER TABLE staging_songs ALTER COLUMN source_file TYPE VARCHAR(2048) COLLATE "C";
-- postgres: ALTER TABLE staging_songs ALTER COLUMN song_id TYPE VARCHAR(64) COLLATE "C";

INSERT INTO staging_songs (
    num_songs,
    artist_id,
    artist_latitude,
    artist_longitude,
    artist_location,
    artist_name,
    song_id,
    title,
    duration,
    year,
    source_file,
    source_line,
    load_id
)
SELECT
    num_songs,
    artist_id,
    artist_latitude,
    artist_longitude,
    artist_location,
    artist_name,
    song_id,
    title,
    duration,
    year,
    source_file,
    source_line,
    load_id
FROM staging_songs_0_2;

DROP TABLE staging_songs_0_2;

-- load_files: the ledger of source files loaded into staging.
-- Grain: one row per source file (its full URI or path), the version of it now in staging.
-- A file whose size or version (S3 ETag, or modification time) differs from its row is read again and
-- its earlier rows replaced; records_read = rows_staged + records_rejected for every file.
-- The key is enforced on PostgreSQL, informational on Redshift (the loader keeps it).
-- PostgreSQL: unlogged, emptied with the staging rows it describes after a crash.
-- Redshift: ALL, a small ledger read whole by each load; sorted by load.
-- postgres: ALTER INDEX load_files_pkey RENAME TO load_files_0_2_pkey;
ALTER TABLE load_files RENAME TO load_files_0_2;

CREATE TABLE load_files (
    source_file VARCHAR(2048) NOT NULL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    size_bytes BIGINT NOT NULL,
    version VARCHAR(128) NOT NULL,
    load_id VARCHAR(40) NOT NULL,
    records_read BIGINT NOT NULL,
    rows_staged BIGINT NOT NULL,
    records_rejected BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (load_id)
;


INSERT INTO load_files (
    source_file,
    kind,
    size_bytes,
    version,
    load_id,
    records_read,
    rows_staged,
    records_rejected,
    loaded_at
)
SELECT
    source_file,
    kind,
    size_bytes,
    version,
    load_id,
    records_read,
    rows_staged,
    records_rejected,
    loaded_at
FROM load_files_0_2;

DROP TABLE load_files_0_2;

-- load_errors: every record that was read but could not be staged, with where it came from and why.
-- Grain: one row per rejected record (load_id, source_file, line_number).
-- Rejected by the parser (both warehouses alike) or by Redshift's COPY (read back from
-- sys_load_error_detail). raw_line holds the start of the record (at most 1000 characters, which
-- is 4000 bytes of UTF-8 at most), for a person to read and fix; reason at most 1000 bytes.
-- PostgreSQL: unlogged, like the ledger. Redshift: EVEN, rarely joined; sorted by load.
ALTER TABLE load_errors RENAME TO load_errors_0_2;

CREATE TABLE load_errors (
    load_id VARCHAR(40) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    source_file VARCHAR(2048) NOT NULL,
    line_number INTEGER NOT NULL,
    reason VARCHAR(1000) NOT NULL,
    raw_line VARCHAR(4000),
    logged_at TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE EVEN SORTKEY (load_id)
;


INSERT INTO load_errors (
    load_id,
    kind,
    source_file,
    line_number,
    reason,
    raw_line,
    logged_at
)
SELECT
    load_id,
    kind,
    source_file,
    line_number,
    reason,
    raw_line,
    logged_at
FROM load_errors_0_2;

DROP TABLE load_errors_0_2;

-- songplays (fact): one row per song played, i.e. per NextSong event of a logged-in user, however often
-- and in whatever files the event arrived.
-- songplay_id is the MD5 of the play's key (user, session, item in session, ts): the same for the same
-- play on both warehouses, whatever order the files came in, and never renumbered.
-- song_id and artist_id come from the song whose title, artist name and duration equal the event's;
-- they are NULL when no song matches, and the play is kept.
-- The key is informational on Redshift, which enforces none; on PostgreSQL it is not indexed at all: a
-- B-tree over random MD5 strings made a full load's insert four times slower, and the transform finds
-- a day's plays through a BRIN index on start_time (plays arrive in time order) instead. The check
-- songplays_key (make verify) proves the key unique on both.
-- PostgreSQL: user_id compares byte by byte (COLLATE "C"), as on Redshift, for the reports' order.
-- Redshift: DISTKEY start_time joins time on-slice (song_id would skew: most plays match no song);
-- sorted by start_time for time ranges.
DROP TABLE songplays;

CREATE TABLE songplays (
    songplay_id VARCHAR(32) NOT NULL,
    start_time TIMESTAMP NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    level VARCHAR(16),
    song_id VARCHAR(64),
    artist_id VARCHAR(64),
    session_id BIGINT,
    location VARCHAR(512),
    user_agent VARCHAR(1024)
    -- redshift: , PRIMARY KEY (songplay_id)  -- noqa: LT04
)
-- redshift: DISTSTYLE KEY DISTKEY (start_time) SORTKEY (start_time)
;

-- postgres: ALTER TABLE songplays ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
-- postgres: CREATE INDEX songplays_start_time ON songplays USING brin (start_time);
