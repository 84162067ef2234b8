-- user_levels: one row per user per period on one level, from the user's plays in songplays in time
-- order. Plays at the same instant count as one: the last of them (by session, then songplay_id) sets
-- the level. A period runs from its first play to the first play on another level; the last one is
-- open (valid_to NULL).
-- A change to a user's plays (new ones, or lost ones) from a start time on leaves every period that
-- ended before it as it was: only the periods from the one that holds that time on are redone, from
-- that period's level (every play of a period before the change has it) and the plays from the change
-- on. For a user whose new plays all come after their history (most users, most days) that is their
-- open period and their new plays: the transform reads one day of songplays, not the whole history.
-- On a rebuild, every user's history is built from all their plays.
DROP TABLE IF EXISTS history_changes;

-- each user in scope, the earliest start time among their new and lost plays
CREATE TEMP TABLE history_changes AS
SELECT
    c.user_id,
    MIN(c.start_time) AS changed_from
FROM changed_plays AS c
GROUP BY c.user_id;

DROP TABLE IF EXISTS redo_from;

-- the first period of each such user that did not end before the change, and its level
CREATE TEMP TABLE redo_from AS
SELECT
    h.user_id,
    h.changed_from,
    p.valid_from AS period_from,
    p.level AS period_level
FROM history_changes AS h
LEFT JOIN (
    SELECT
        l.user_id,
        l.valid_from,
        l.level,
        ROW_NUMBER() OVER (PARTITION BY l.user_id ORDER BY l.valid_from) AS n
    FROM user_levels AS l
    INNER JOIN history_changes AS c
        ON l.user_id = c.user_id AND (l.valid_to IS NULL OR l.valid_to >= c.changed_from)
) AS p ON h.user_id = p.user_id AND p.n = 1;

-- postgres: ANALYZE redo_from;

DELETE FROM user_levels
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1;

-- USING names its table without an alias: Redshift's DELETE grammar shows none ("USING table_name")
DELETE FROM user_levels
USING redo_from
WHERE
    user_levels.user_id = redo_from.user_id
    AND (redo_from.period_from IS NULL OR user_levels.valid_from >= redo_from.period_from);

INSERT INTO user_levels (user_id, level, valid_from, valid_to)
SELECT
    plays.user_id,
    plays.level,
    plays.start_time AS valid_from,
    LEAD(plays.start_time) OVER (PARTITION BY plays.user_id ORDER BY plays.start_time) AS valid_to
FROM (
    SELECT
        instants.user_id,
        instants.level,
        instants.start_time,
        LAG(COALESCE(instants.level, '')) OVER (
            PARTITION BY instants.user_id ORDER BY instants.start_time
        ) AS previous
    FROM (
        SELECT
            h.user_id,
            h.level,
            h.start_time,
            ROW_NUMBER() OVER (
                PARTITION BY h.user_id, h.start_time ORDER BY h.session_id DESC, h.songplay_id DESC
            ) AS last_at_instant
        FROM (
            -- a rebuild: every play
            SELECT
                a.user_id,
                a.level,
                a.start_time,
                a.session_id,
                a.songplay_id
            FROM songplays AS a
            WHERE (SELECT run.rebuild FROM transform_run AS run) = 1
            UNION ALL
            -- a redone history: the level its first redone period had before the change, as a play
            SELECT
                r.user_id,
                r.period_level AS level,
                r.period_from AS start_time,
                NULL AS session_id,
                '' AS songplay_id
            FROM redo_from AS r
            WHERE r.period_from < r.changed_from
            UNION ALL
            -- then the plays from the change on
            SELECT
                b.user_id,
                b.level,
                b.start_time,
                b.session_id,
                b.songplay_id
            FROM songplays AS b
            INNER JOIN redo_from AS r ON b.user_id = r.user_id AND b.start_time >= r.changed_from
            WHERE b.start_time >= (SELECT MIN(x.changed_from) FROM redo_from AS x)
        ) AS h
    ) AS instants
    WHERE instants.last_at_instant = 1
) AS plays
WHERE plays.previous IS NULL OR plays.previous <> COALESCE(plays.level, '');
