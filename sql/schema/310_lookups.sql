-- text_repairs, location_parts, user_agent_parts: what the rules of sparkify_dwh/cleaning.py make of the
-- values staged, computed once per distinct value (by the transform, from staging itself) and kept here,
-- so that the star reads them with a join and both warehouses get exactly the same text.
-- Keys are the staged value without trailing blanks (RTRIM), which Redshift ignores when it compares text:
-- a key with and without them would be one key there and two on PostgreSQL.
-- text_repairs grain: one row per song, artist or name value whose mojibake the rule repairs (values
-- it leaves as they are have no row). location_parts, user_agent_parts grain: one row per distinct
-- location and user agent staged.
-- Redshift: ALL, small tables joined to every event, copied to each node.
CREATE TABLE text_repairs (
    original VARCHAR(1024) NOT NULL PRIMARY KEY,
    repaired VARCHAR(1024) NOT NULL
)
-- redshift: DISTSTYLE ALL
;

CREATE TABLE location_parts (
    location VARCHAR(512) NOT NULL PRIMARY KEY,
    repaired VARCHAR(512) NOT NULL,
    metro VARCHAR(512),
    state VARCHAR(512)
)
-- redshift: DISTSTYLE ALL
;

CREATE TABLE user_agent_parts (
    user_agent VARCHAR(1024) NOT NULL PRIMARY KEY,
    unquoted VARCHAR(1024) NOT NULL,
    browser VARCHAR(256) NOT NULL,
    os VARCHAR(256) NOT NULL,
    device VARCHAR(256) NOT NULL
)
-- redshift: DISTSTYLE ALL
;
