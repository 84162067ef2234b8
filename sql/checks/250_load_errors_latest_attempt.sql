-- load_errors holds one row per bad record: a file's rows are those of its latest attempt
-- Each row names a file in the ledger whose rows in load_errors, whatever their load id, are not its
-- reject count (records_rejected), besides the rows of at most one attempt made after the file was
-- staged: a load that failed over MAX_ERRORS stages nothing and keeps the file's staged version, and
-- with it that version's rows; it adds its own, which the next attempt at the file replaces with the
-- rest (sparkify_dwh/staging.py, REJECTED_FILES). Rows of an attempt made before the file was staged
-- (an earlier failed load, a line-0 row of a file that could not be read then) are a violation.
SELECT
    f.source_file,
    f.records_rejected,
    SUM(CASE WHEN e.load_id = f.load_id THEN 1 ELSE 0 END) AS rows_of_the_staged_version,
    COUNT(e.source_file) AS rows_kept
FROM load_files AS f
LEFT JOIN load_errors AS e ON f.source_file = e.source_file
GROUP BY f.source_file, f.load_id, f.records_rejected, f.loaded_at
HAVING
    SUM(CASE WHEN e.load_id = f.load_id THEN 1 ELSE 0 END) <> f.records_rejected
    OR COUNT(DISTINCT CASE WHEN e.load_id <> f.load_id THEN e.load_id END) > 1
    OR MIN(CASE WHEN e.load_id <> f.load_id THEN e.logged_at END) <= f.loaded_at;

-- scoped: the files of the loads the transform took in (new_loads)
SELECT
    f.source_file,
    f.records_rejected,
    SUM(CASE WHEN e.load_id = f.load_id THEN 1 ELSE 0 END) AS rows_of_the_staged_version,
    COUNT(e.source_file) AS rows_kept
FROM load_files AS f
LEFT JOIN load_errors AS e ON f.source_file = e.source_file
WHERE f.load_id IN (SELECT n.load_id FROM new_loads AS n)
GROUP BY f.source_file, f.load_id, f.records_rejected, f.loaded_at
HAVING
    SUM(CASE WHEN e.load_id = f.load_id THEN 1 ELSE 0 END) <> f.records_rejected
    OR COUNT(DISTINCT CASE WHEN e.load_id <> f.load_id THEN e.load_id END) > 1
    OR MIN(CASE WHEN e.load_id <> f.load_id THEN e.logged_at END) <= f.loaded_at;
