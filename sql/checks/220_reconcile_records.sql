-- every record read was staged or rejected, per source file
-- Each row names a file whose ledger counts disagree with staging_* and load_errors.
SELECT
    f.source_file,
    f.records_read,
    COALESCE(staged.n, 0) AS rows_staged,
    COALESCE(rejected.n, 0) AS records_rejected
FROM load_files AS f
LEFT JOIN (
    SELECT
        source_file,
        load_id,
        COUNT(*) AS n
    FROM staging_events
    GROUP BY source_file, load_id
    UNION ALL
    SELECT
        source_file,
        load_id,
        COUNT(*) AS n
    FROM staging_songs
    GROUP BY source_file, load_id
) AS staged ON f.source_file = staged.source_file AND f.load_id = staged.load_id
LEFT JOIN (
    SELECT
        source_file,
        load_id,
        COUNT(*) AS n
    FROM load_errors
    GROUP BY source_file, load_id
) AS rejected ON f.source_file = rejected.source_file AND f.load_id = rejected.load_id
WHERE
    f.records_read <> COALESCE(staged.n, 0) + COALESCE(rejected.n, 0)
    OR f.rows_staged <> COALESCE(staged.n, 0)
    OR f.records_rejected <> COALESCE(rejected.n, 0);
