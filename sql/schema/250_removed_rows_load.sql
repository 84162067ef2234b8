-- removed_plays, removed_songs: the load that had staged each removed row. make verify reconciles the
-- star with the staged rows it was built from: those of the loads in star_loads, and the removed rows of
-- those loads, which the star still shows until the next transform takes them out. A row staged by a load
-- the star never showed (its transform failed the checks, or was stopped) and removed again is not in the
-- star, and this column tells it apart. NULL for the rows noted before this file: taken as shown.
-- Redshift: "You can add only one column in each ALTER TABLE statement" (ALTER TABLE).
ALTER TABLE removed_plays ADD COLUMN load_id VARCHAR(40);

ALTER TABLE removed_songs ADD COLUMN load_id VARCHAR(40);
