-- staging_songs: every song record of the song metadata files, as read.
-- Grain: one row per JSON object of a song file (source_file, source_line).
-- Fields keep the source's values and names; the load bookkeeping columns let a changed file be replaced.
CREATE TABLE staging_songs (
    num_songs INTEGER,
    artist_id TEXT NOT NULL,
    artist_latitude DOUBLE PRECISION,
    artist_longitude DOUBLE PRECISION,
    artist_location TEXT,
    artist_name TEXT,
    song_id TEXT NOT NULL,
    title TEXT,
    duration DOUBLE PRECISION,
    year INTEGER,
    source_file TEXT NOT NULL,
    source_line INTEGER NOT NULL,
    load_id VARCHAR(40) NOT NULL
);
