-- Where do people listen, by state?
-- Grain: one row per US state code that a play's location names, most plays first, ties by state. A
-- location is a metro area and its states ("Chicago-Naperville-Elgin, IL-IN-WI"): a play in a metro area
-- that spans several states counts in each of them, so the plays of all rows add up to more than the
-- plays. Plays whose location names no state are left out. Up to 8 states a location are read (a US
-- metro area spans at most 4). Sums cast to BIGINT: PostgreSQL's SUM of a BIGINT is NUMERIC, Redshift's
-- BIGINT, and the output is the same on both.
-- chart: barh state plays
SELECT  -- noqa: ST06
    SPLIT_PART(p.state, '-', k.n) AS state,
    CAST(SUM(p.plays) AS BIGINT) AS plays,
    COUNT(DISTINCT p.user_id) AS listeners,
    CAST(SUM(CASE WHEN p.state LIKE '%-%' THEN p.plays ELSE 0 END) AS BIGINT) AS plays_in_metros_across_states
FROM (
    SELECT
        state,
        user_id,
        COUNT(*) AS plays
    FROM songplays
    WHERE state IS NOT NULL
    GROUP BY state, user_id
) AS p
INNER JOIN (
    SELECT 1 AS n
    UNION ALL
    SELECT 2
    UNION ALL
    SELECT 3
    UNION ALL
    SELECT 4
    UNION ALL
    SELECT 5
    UNION ALL
    SELECT 6
    UNION ALL
    SELECT 7
    UNION ALL
    SELECT 8
) AS k ON k.n <= (CHAR_LENGTH(p.state) + 1) / 3
GROUP BY SPLIT_PART(p.state, '-', k.n)
ORDER BY plays DESC, state ASC;
