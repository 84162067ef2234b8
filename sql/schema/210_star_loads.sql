-- star_loads: the loads whose staged rows the star reflects. The transform rebuilds only what the
-- loads missing from it (and the rows removed since) touch; when it is empty (a first load,
-- FULL_REFRESH=1) the transform rebuilds the whole star; a schema change asks for a rebuild in
-- star_rebuild (390) instead, since a load must still know which files the star has shown.
-- Grain: one row per load id.
CREATE TABLE star_loads (
    load_id VARCHAR(40) NOT NULL PRIMARY KEY
)
-- redshift: DISTSTYLE ALL
;

-- A warehouse of release 0.2 showed every load it staged (it had no publishing gate): its loads are the
-- star's, so a file gone from the source is never taken for one the star never showed (staging.py,
-- UNPUBLISHED) and withdrawn. Empty on a new warehouse.
INSERT INTO star_loads (load_id)
SELECT DISTINCT load_id
FROM load_files;
