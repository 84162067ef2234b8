-- artists (dimension): one row per artist_id in the song metadata.
CREATE TABLE artists (
    artist_id VARCHAR(64) NOT NULL PRIMARY KEY,
    name VARCHAR(1024),
    location VARCHAR(1024),
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION
);
