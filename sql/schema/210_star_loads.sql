-- star_loads: the loads whose staged rows the star reflects. The transform rebuilds only what the
-- loads missing from it (and the rows removed since) touch; when it is empty (a first load,
-- FULL_REFRESH=1, or a schema change that asks for it) the transform rebuilds the whole star.
-- Grain: one row per load id.
CREATE TABLE star_loads (
    load_id VARCHAR(40) NOT NULL PRIMARY KEY
)
-- redshift: DISTSTYLE ALL
;
