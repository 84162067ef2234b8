-- songplays gains what the app logged of the song (title, artist name, length: top songs and artists are
-- star queries, matched or not) and where and on what the play happened, as analysts group plays:
-- metro area and state from the location, browser, operating system and device from the user agent.
-- Redshift's ALTER TABLE adds one column a statement ("ADD [ COLUMN ] column_name column_type"; "You can't
-- run ALTER TABLE on an external table within a transaction block": these are not external).
ALTER TABLE songplays ADD COLUMN song_title VARCHAR(1024);

ALTER TABLE songplays ADD COLUMN artist_name VARCHAR(1024);

ALTER TABLE songplays ADD COLUMN song_length DOUBLE PRECISION;

ALTER TABLE songplays ADD COLUMN metro VARCHAR(512);

ALTER TABLE songplays ADD COLUMN state VARCHAR(512);

ALTER TABLE songplays ADD COLUMN browser VARCHAR(256);

ALTER TABLE songplays ADD COLUMN os VARCHAR(256);

ALTER TABLE songplays ADD COLUMN device VARCHAR(256);

-- postgres: ALTER TABLE songplays ALTER COLUMN song_title TYPE VARCHAR(1024) COLLATE "C";
-- postgres: ALTER TABLE songplays ALTER COLUMN artist_name TYPE VARCHAR(1024) COLLATE "C";
