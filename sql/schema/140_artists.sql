-- artists (dimension): one row per artist_id in the song metadata.
-- Redshift: ALL, a small dimension copied to each node for joins from songplays; sorted by artist_id.
CREATE TABLE artists (
    artist_id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(1024),
    location VARCHAR(1024),
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION
)
-- redshift: DISTSTYLE ALL SORTKEY (artist_id)
;
