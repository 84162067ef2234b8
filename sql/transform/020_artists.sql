-- artists: rebuilt from staging_songs, one row per artist_id.
-- An artist appears once per song; the record with coordinates, then with a location, then the one
-- read first (by source file, then line) wins. An empty location becomes NULL.
DELETE FROM artists;

INSERT INTO artists (artist_id, name, location, latitude, longitude)
SELECT
    artist_id,
    artist_name AS name,
    NULLIF(artist_location, '') AS location,
    artist_latitude AS latitude,
    artist_longitude AS longitude
FROM (
    SELECT
        artist_id,
        artist_name,
        artist_location,
        artist_latitude,
        artist_longitude,
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY
                CASE WHEN artist_latitude IS NULL THEN 1 ELSE 0 END,
                CASE WHEN NULLIF(artist_location, '') IS NULL THEN 1 ELSE 0 END,
                source_file,
                source_line
        ) AS pick
    FROM staging_songs
) AS ranked
WHERE pick = 1;
