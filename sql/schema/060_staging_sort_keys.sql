-- staging sort keys: user_id and source_file compare byte by byte (COLLATE "C").
-- The transform sorts on them (a user's latest play, the tie-breaks of songplay_id). Byte order is
-- Redshift's order too, so both warehouses break ties alike whatever the server's locale, and it
-- sorts about twice as fast as a locale's collation.
ALTER TABLE staging_events ALTER COLUMN user_id TYPE TEXT COLLATE "C";

ALTER TABLE staging_events ALTER COLUMN source_file TYPE TEXT COLLATE "C";

ALTER TABLE staging_songs ALTER COLUMN source_file TYPE TEXT COLLATE "C";
