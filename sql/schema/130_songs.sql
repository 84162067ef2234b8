-- songs (dimension): one row per song_id in the song metadata.
CREATE TABLE songs (
    song_id VARCHAR(64) NOT NULL PRIMARY KEY,
    title VARCHAR(1024),
    artist_id VARCHAR(64),
    year INTEGER,
    duration DOUBLE PRECISION
);
