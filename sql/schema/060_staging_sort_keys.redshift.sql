-- staging sort keys: nothing to change on Redshift, which compares strings byte by byte already
-- (the PostgreSQL file gives user_id and source_file that same order with COLLATE "C").
SELECT 1;
