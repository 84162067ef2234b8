-- star_loads: the star now reflects every load staged so far, and nothing removed waits any more.
-- Loads whose files were all replaced since are forgotten.
INSERT INTO star_loads (load_id)
SELECT load_id
FROM new_loads;

DELETE FROM star_loads
WHERE load_id NOT IN (SELECT load_id FROM load_files);

DELETE FROM removed_plays;

DELETE FROM removed_songs;

DELETE FROM removed_sessions;

DELETE FROM star_rebuild;
