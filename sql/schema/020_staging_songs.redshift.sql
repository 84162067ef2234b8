-- staging_songs: every song record of the song metadata files, as read (Redshift).
-- Grain: one row per JSON object of a song file (source_file, source_line).
-- Keys: ALL, small song metadata copied to every node so matching plays to songs moves no rows.
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
DISTSTYLE ALL
SORTKEY (source_file, source_line);
