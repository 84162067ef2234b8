-- users (dimension): one row per user who played a song; level is the level of their latest play.
CREATE TABLE users (
    user_id VARCHAR(64) NOT NULL PRIMARY KEY,
    first_name VARCHAR(256),
    last_name VARCHAR(256),
    gender VARCHAR(16),
    level VARCHAR(16)
);
