-- analytics and etl: the star in a schema of its own, the one analysts read (through the role of
-- make grant-reader); staging, the ledger, the rejects, the lock and the bookkeeping in etl, the loader's.
-- Until this file every table was in public. sql/tables.toml names each table's schema (a test holds this
-- file to it); the loader's connections search etl, analytics, then public, so the SQL names tables unqualified.
-- Every file before this one runs in public, as it did when written (a fresh warehouse too), and is moved here.
-- PostgreSQL: ALTER TABLE ... SET SCHEMA moves each table in place (rows, indexes, statistics), inside this
-- file's one transaction.
-- Redshift has no such clause: "ALTER TABLE table_name { ADD table_constraint | DROP CONSTRAINT ... |
-- OWNER TO new_owner | RENAME TO new_name | RENAME COLUMN ... | ALTER COLUMN ... | ALTER DISTKEY ... | ...}"
-- (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html), and ALTER TABLE APPEND, which moves
-- blocks, "automatically commits immediately ... You can't run ALTER TABLE APPEND within a transaction block"
-- (r_ALTER_TABLE_APPEND.html). Each table is copied instead, in this file's one transaction: CREATE TABLE
-- new (LIKE old) ("LIKE parent_table [ { INCLUDING | EXCLUDING } DEFAULTS ]", r_CREATE_TABLE_NEW.html: the
-- columns, their types and NOT NULL, with the distribution and sort keys LIKE carries), INSERT ... SELECT, DROP.
-- A crash halfway rolls the whole file back: the tables stay in public, and the next run moves them all.
-- A view someone made on a table stops its DROP there (the error names it, and nothing is moved): drop the
-- view, migrate, and make it again on analytics. On PostgreSQL a view follows its table.
-- LIKE does not carry the keys (r_CREATE_TABLE_NEW.html: "Tables created with the LIKE option don't inherit
-- primary and foreign key constraints"): each table's primary key is declared again on its copy (ALTER TABLE
-- ... ADD table_constraint). The keys are informational on Redshift and enforced by none; make verify proves
-- each on both warehouses.
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE SCHEMA IF NOT EXISTS etl;

-- postgres: ALTER TABLE public.schema_history SET SCHEMA etl;
-- redshift: CREATE TABLE etl.schema_history (LIKE public.schema_history);
-- redshift: INSERT INTO etl.schema_history SELECT * FROM public.schema_history;  -- noqa: AM04
-- redshift: DROP TABLE public.schema_history;

-- postgres: ALTER TABLE public.staging_events SET SCHEMA etl;
-- redshift: CREATE TABLE etl.staging_events (LIKE public.staging_events);
-- redshift: INSERT INTO etl.staging_events SELECT * FROM public.staging_events;  -- noqa: AM04
-- redshift: DROP TABLE public.staging_events;

-- postgres: ALTER TABLE public.staging_songs SET SCHEMA etl;
-- redshift: CREATE TABLE etl.staging_songs (LIKE public.staging_songs);
-- redshift: INSERT INTO etl.staging_songs SELECT * FROM public.staging_songs;  -- noqa: AM04
-- redshift: DROP TABLE public.staging_songs;

-- postgres: ALTER TABLE public.load_files SET SCHEMA etl;
-- redshift: CREATE TABLE etl.load_files (LIKE public.load_files);
-- redshift: INSERT INTO etl.load_files SELECT * FROM public.load_files;  -- noqa: AM04
-- redshift: ALTER TABLE etl.load_files ADD PRIMARY KEY (source_file);
-- redshift: DROP TABLE public.load_files;

-- postgres: ALTER TABLE public.load_errors SET SCHEMA etl;
-- redshift: CREATE TABLE etl.load_errors (LIKE public.load_errors);
-- redshift: INSERT INTO etl.load_errors SELECT * FROM public.load_errors;  -- noqa: AM04
-- redshift: DROP TABLE public.load_errors;

-- postgres: ALTER TABLE public.load_lock SET SCHEMA etl;
-- redshift: CREATE TABLE etl.load_lock (LIKE public.load_lock);
-- redshift: INSERT INTO etl.load_lock SELECT * FROM public.load_lock;  -- noqa: AM04
-- redshift: DROP TABLE public.load_lock;

-- postgres: ALTER TABLE public.star_loads SET SCHEMA etl;
-- redshift: CREATE TABLE etl.star_loads (LIKE public.star_loads);
-- redshift: INSERT INTO etl.star_loads SELECT * FROM public.star_loads;  -- noqa: AM04
-- redshift: ALTER TABLE etl.star_loads ADD PRIMARY KEY (load_id);
-- redshift: DROP TABLE public.star_loads;

-- postgres: ALTER TABLE public.removed_plays SET SCHEMA etl;
-- redshift: CREATE TABLE etl.removed_plays (LIKE public.removed_plays);
-- redshift: INSERT INTO etl.removed_plays SELECT * FROM public.removed_plays;  -- noqa: AM04
-- redshift: DROP TABLE public.removed_plays;

-- postgres: ALTER TABLE public.removed_songs SET SCHEMA etl;
-- redshift: CREATE TABLE etl.removed_songs (LIKE public.removed_songs);
-- redshift: INSERT INTO etl.removed_songs SELECT * FROM public.removed_songs;  -- noqa: AM04
-- redshift: DROP TABLE public.removed_songs;

-- postgres: ALTER TABLE public.user_last_plays SET SCHEMA etl;
-- redshift: CREATE TABLE etl.user_last_plays (LIKE public.user_last_plays);
-- redshift: INSERT INTO etl.user_last_plays SELECT * FROM public.user_last_plays;  -- noqa: AM04
-- redshift: ALTER TABLE etl.user_last_plays ADD PRIMARY KEY (user_id);
-- redshift: DROP TABLE public.user_last_plays;

-- postgres: ALTER TABLE public.text_repairs SET SCHEMA etl;
-- redshift: CREATE TABLE etl.text_repairs (LIKE public.text_repairs);
-- redshift: INSERT INTO etl.text_repairs SELECT * FROM public.text_repairs;  -- noqa: AM04
-- redshift: ALTER TABLE etl.text_repairs ADD PRIMARY KEY (original);
-- redshift: DROP TABLE public.text_repairs;

-- postgres: ALTER TABLE public.location_parts SET SCHEMA etl;
-- redshift: CREATE TABLE etl.location_parts (LIKE public.location_parts);
-- redshift: INSERT INTO etl.location_parts SELECT * FROM public.location_parts;  -- noqa: AM04
-- redshift: ALTER TABLE etl.location_parts ADD PRIMARY KEY (location);
-- redshift: DROP TABLE public.location_parts;

-- postgres: ALTER TABLE public.user_agent_parts SET SCHEMA etl;
-- redshift: CREATE TABLE etl.user_agent_parts (LIKE public.user_agent_parts);
-- redshift: INSERT INTO etl.user_agent_parts SELECT * FROM public.user_agent_parts;  -- noqa: AM04
-- redshift: ALTER TABLE etl.user_agent_parts ADD PRIMARY KEY (user_agent);
-- redshift: DROP TABLE public.user_agent_parts;

-- postgres: ALTER TABLE public.removed_sessions SET SCHEMA etl;
-- redshift: CREATE TABLE etl.removed_sessions (LIKE public.removed_sessions);
-- redshift: INSERT INTO etl.removed_sessions SELECT * FROM public.removed_sessions;  -- noqa: AM04
-- redshift: DROP TABLE public.removed_sessions;

-- postgres: ALTER TABLE public.star_rebuild SET SCHEMA etl;
-- redshift: CREATE TABLE etl.star_rebuild (LIKE public.star_rebuild);
-- redshift: INSERT INTO etl.star_rebuild SELECT * FROM public.star_rebuild;  -- noqa: AM04
-- redshift: DROP TABLE public.star_rebuild;

-- postgres: ALTER TABLE public.songplays SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.songplays (LIKE public.songplays);
-- redshift: INSERT INTO analytics.songplays SELECT * FROM public.songplays;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.songplays ADD PRIMARY KEY (songplay_id);
-- redshift: DROP TABLE public.songplays;

-- postgres: ALTER TABLE public.users SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.users (LIKE public.users);
-- redshift: INSERT INTO analytics.users SELECT * FROM public.users;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.users ADD PRIMARY KEY (user_id);
-- redshift: DROP TABLE public.users;

-- postgres: ALTER TABLE public.songs SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.songs (LIKE public.songs);
-- redshift: INSERT INTO analytics.songs SELECT * FROM public.songs;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.songs ADD PRIMARY KEY (song_id);
-- redshift: DROP TABLE public.songs;

-- postgres: ALTER TABLE public.artists SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.artists (LIKE public.artists);
-- redshift: INSERT INTO analytics.artists SELECT * FROM public.artists;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.artists ADD PRIMARY KEY (artist_id);
-- redshift: DROP TABLE public.artists;

-- postgres: ALTER TABLE public.time SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.time (LIKE public.time);
-- redshift: INSERT INTO analytics.time SELECT * FROM public.time;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.time ADD PRIMARY KEY (start_time);
-- redshift: DROP TABLE public.time;

-- postgres: ALTER TABLE public.user_levels SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.user_levels (LIKE public.user_levels);
-- redshift: INSERT INTO analytics.user_levels SELECT * FROM public.user_levels;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.user_levels ADD PRIMARY KEY (user_id, valid_from);
-- redshift: DROP TABLE public.user_levels;

-- postgres: ALTER TABLE public.sessions SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.sessions (LIKE public.sessions);
-- redshift: INSERT INTO analytics.sessions SELECT * FROM public.sessions;  -- noqa: AM04
-- redshift: DROP TABLE public.sessions;

-- postgres: ALTER TABLE public.page_events SET SCHEMA analytics;
-- redshift: CREATE TABLE analytics.page_events (LIKE public.page_events);
-- redshift: INSERT INTO analytics.page_events SELECT * FROM public.page_events;  -- noqa: AM04
-- redshift: ALTER TABLE analytics.page_events ADD PRIMARY KEY (event_id);
-- redshift: DROP TABLE public.page_events;
