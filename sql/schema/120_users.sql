-- users (dimension): one row per user who played a song; level is the level of their latest play.
-- Redshift: ALL, a small dimension joined to every play, copied to each node; sorted by user_id.
CREATE TABLE users (
    user_id VARCHAR(64) NOT NULL PRIMARY KEY,
    first_name VARCHAR(256),
    last_name VARCHAR(256),
    gender VARCHAR(16),
    level VARCHAR(16)
)
-- redshift: DISTSTYLE ALL SORTKEY (user_id)
;
