-- removed_plays, removed_songs: what staging lost since the last transform, so that the transform can
-- take it out of the star. A changed file's earlier rows are copied here as they are deleted from
-- staging (a file that disappears from the source keeps its rows, and nothing comes here).
-- Grain: one row per staged row removed (a play's key; a song's key and match key).
CREATE TABLE removed_plays (
    user_id VARCHAR(64) NOT NULL,
    session_id BIGINT,
    item_in_session INTEGER,
    ts BIGINT NOT NULL,
    start_time TIMESTAMP NOT NULL
)
-- redshift: DISTSTYLE EVEN
;

CREATE TABLE removed_songs (
    song_id VARCHAR(64) NOT NULL,
    artist_id VARCHAR(64) NOT NULL,
    title VARCHAR(1024),
    artist_name VARCHAR(1024),
    duration DOUBLE PRECISION
)
-- redshift: DISTSTYLE EVEN
;

-- postgres: ALTER TABLE removed_plays SET UNLOGGED;
-- postgres: ALTER TABLE removed_songs SET UNLOGGED;
