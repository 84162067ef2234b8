-- songs (dimension): one row per song_id in the song metadata.
-- Redshift: ALL, copied to each node so joins from songplays never redistribute the fact; sorted by song_id.
CREATE TABLE songs (
    song_id VARCHAR(64) NOT NULL PRIMARY KEY,
    title VARCHAR(1024),
    artist_id VARCHAR(64),
    year INTEGER,
    duration DOUBLE PRECISION
)
-- redshift: DISTSTYLE ALL SORTKEY (song_id)
;
