-- star_rebuild: a row asks the next transform to rebuild the whole star from staging (010_scope.sql), which
-- then empties it. This schema change asks: the columns and tables added since the star was built are
-- filled, and the text of the rows staged before is repaired from staging itself (the sources may be
-- gone). star_loads is kept: it says which files the star has shown, so none is withdrawn.
CREATE TABLE star_rebuild (
    reason VARCHAR(200) NOT NULL
)
-- redshift: DISTSTYLE ALL
;

INSERT INTO star_rebuild (reason) VALUES ('schema 390: sessions, page_events, repaired text');
