-- users gains when the user registered (the logs' registration, epoch ms, as a timestamp) and the
-- start times of their first and last play.
ALTER TABLE users ADD COLUMN registration TIMESTAMP;

ALTER TABLE users ADD COLUMN first_play TIMESTAMP;

ALTER TABLE users ADD COLUMN last_play TIMESTAMP;
