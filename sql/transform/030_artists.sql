-- artists: one row per artist_id, rebuilt for the artists in scope (all of them on a rebuild).
-- An artist appears once per song; the record with coordinates, then with a location, then the one
-- read first (by source file, then line) wins. An empty or blank-only location becomes NULL, tested with
-- RTRIM on both warehouses: Redshift ignores trailing blanks when it compares text ("Trailing spaces in
-- VARCHAR and CHAR values are treated as semantically insignificant when values are compared", Character
-- types), so '   ' = '' there and not on PostgreSQL. A location is kept as written otherwise.
DELETE FROM artists
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1 OR artist_id IN (SELECT c.artist_id FROM changed_songs AS c);

INSERT INTO artists (artist_id, name, location, latitude, longitude)
SELECT
    artist_id,
    artist_name AS name,
    CASE WHEN RTRIM(artist_location) = '' THEN NULL ELSE artist_location END AS location,
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
                CASE WHEN COALESCE(RTRIM(s.artist_location), '') = '' THEN 1 ELSE 0 END,
                s.source_file,
                s.source_line
        ) AS pick
    FROM staging_songs AS s
    WHERE
        (SELECT run.rebuild FROM transform_run AS run) = 1
        OR s.artist_id IN (SELECT c.artist_id FROM changed_songs AS c)
) AS ranked
WHERE pick = 1;
