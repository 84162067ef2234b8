-- artists: one row per artist_id, rebuilt for the artists in scope (all of them on a rebuild).
-- An artist appears once per song; the record with coordinates, then with a location, then the one
-- read first (by source file, then line) wins. An empty location becomes NULL.
DELETE FROM artists
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1 OR artist_id IN (SELECT c.artist_id FROM changed_songs AS c);

INSERT INTO artists (artist_id, name, location, latitude, longitude)
SELECT
    artist_id,
    artist_name AS name,
    NULLIF(artist_location, '') AS location,
    artist_latitude AS latitude,
    artist_longitude AS longitude
FROM (
    SELECT
        s.artist_id,
        s.artist_name,
        s.artist_location,
        s.artist_latitude,
        s.artist_longitude,
        ROW_NUMBER() OVER (
            PARTITION BY s.artist_id
            ORDER BY
                CASE WHEN s.artist_latitude IS NULL THEN 1 ELSE 0 END,
                CASE WHEN NULLIF(s.artist_location, '') IS NULL THEN 1 ELSE 0 END,
                s.source_file,
                s.source_line
        ) AS pick
    FROM staging_songs AS s
    WHERE
        (SELECT run.rebuild FROM transform_run AS run) = 1
        OR s.artist_id IN (SELECT c.artist_id FROM changed_songs AS c)
) AS ranked
WHERE pick = 1;
