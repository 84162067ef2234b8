-- staging_songs: every song record of the song metadata files, as read.
-- Grain: one row per JSON object of a song file (source_file, source_line).
-- Fields keep the source's values and names; VARCHAR widths as in staging_events.
-- PostgreSQL: unlogged; source_file compares byte by byte. Redshift: ALL, small song metadata copied
-- to every node, so matching plays to songs moves no rows; sorted by file.
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
    source_file VARCHAR(1024) NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
)
-- redshift: DISTSTYLE ALL SORTKEY (source_file, source_line)
;

-- postgres: ALTER TABLE staging_songs SET UNLOGGED;
-- postgres: ALTER TABLE staging_songs ALTER COLUMN source_file TYPE VARCHAR(1024) COLLATE "C";
