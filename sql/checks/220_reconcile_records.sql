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

-- scoped: the files of the loads the transform took in (new_loads), their staged rows found by load id
SELECT
    f.source_file,
    f.records_read,
    COALESCE(staged.n, 0) AS rows_staged,
    COALESCE(rejected.n, 0) AS records_rejected
FROM load_files AS f
LEFT JOIN (
    SELECT
        e.source_file,
        e.load_id,
        COUNT(*) AS n
    FROM staging_events AS e
    WHERE
        e.load_id >= (SELECT MIN(n.load_id) FROM new_loads AS n)
        AND e.load_id IN (SELECT n.load_id FROM new_loads AS n)
    GROUP BY e.source_file, e.load_id
    UNION ALL
    SELECT
        s.source_file,
        s.load_id,
        COUNT(*) AS n
    FROM staging_songs AS s
    WHERE s.load_id IN (SELECT n.load_id FROM new_loads AS n)
    GROUP BY s.source_file, s.load_id
) AS staged ON f.source_file = staged.source_file AND f.load_id = staged.load_id
LEFT JOIN (
    SELECT
        r.source_file,
        r.load_id,
        COUNT(*) AS n
    FROM load_errors AS r
    WHERE r.load_id IN (SELECT n.load_id FROM new_loads AS n)
    GROUP BY r.source_file, r.load_id
) AS rejected ON f.source_file = rejected.source_file AND f.load_id = rejected.load_id
WHERE
    f.load_id IN (SELECT n.load_id FROM new_loads AS n)
    AND (
        f.records_read <> COALESCE(staged.n, 0) + COALESCE(rejected.n, 0)
        OR f.rows_staged <> COALESCE(staged.n, 0)
        OR f.records_rejected <> COALESCE(rejected.n, 0)
    );
