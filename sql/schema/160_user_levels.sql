-- user_levels (dimension): one row per user per period on one level (free or paid), in play order.
-- A period starts at the first play on a level (valid_from) and ends at the first play on another
-- (valid_to, exclusive); valid_to is NULL for the period the user is in now, whose level is users.level.
-- Plays at the same instant count as one: the last of them (by session, then songplay_id) sets the level.
-- Redshift: ALL, small; sorted by user and time.
CREATE TABLE user_levels (
    user_id VARCHAR(64) NOT NULL,
    level VARCHAR(16),
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    PRIMARY KEY (user_id, valid_from)
)
-- redshift: DISTSTYLE ALL SORTKEY (user_id, valid_from)
;

-- postgres: ALTER TABLE user_levels ALTER COLUMN user_id TYPE VARCHAR(64) COLLATE "C";
