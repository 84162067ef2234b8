-- The next transform rebuilds the whole star from staging: the columns and tables added since it was
-- built are filled, and the text of the rows staged before is repaired from staging itself (the sources
-- may be gone).
DELETE FROM star_loads;
