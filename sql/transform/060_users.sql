-- users: one row per user who played a song, rebuilt for the users in scope (all of them on a
-- rebuild). Names and gender come from the user's latest play (latest start time, then session, then
-- item; of copies of the same event, the one read first), so they are current; level is the level of
-- the user's open period in user_levels, the tier they are on now. Names are repaired (text_repairs)
-- and without trailing blanks; registration is the latest play's, as a timestamp; first_play opens the
-- user's first period in user_levels, last_play is the latest play.
-- A user's latest play is their latest from the earliest change on (050_user_levels.sql) when they
-- still have one there, else the one user_last_plays kept, when that came before the change; only a
-- user who lost their latest plays has all their plays read again. user_last_plays keeps the answer
-- for the next transform.
DELETE FROM users
WHERE
    (SELECT run.rebuild FROM transform_run AS run) = 1
    OR user_id IN (SELECT u.user_id FROM scope_users AS u);

DROP TABLE IF EXISTS recent_last_plays;

CREATE TEMP TABLE recent_last_plays AS
SELECT
    r.user_id,
    MAX(b.start_time) AS start_time
FROM redo_from AS r
INNER JOIN songplays AS b ON r.user_id = b.user_id AND r.changed_from <= b.start_time
WHERE b.start_time >= (SELECT MIN(x.changed_from) FROM redo_from AS x)
GROUP BY r.user_id;

DROP TABLE IF EXISTS last_plays;

CREATE TEMP TABLE last_plays AS
SELECT
    a.user_id,
    MAX(a.start_time) AS start_time
FROM songplays AS a
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1
GROUP BY a.user_id
UNION ALL
SELECT
    p.user_id,
    MAX(p.start_time) AS start_time
FROM songplays AS p
INNER JOIN (
    -- lost their latest plays: nothing from the change on, and the kept latest came after it
    SELECT r.user_id
    FROM redo_from AS r
    INNER JOIN user_last_plays AS k ON r.user_id = k.user_id AND r.changed_from <= k.start_time
    WHERE r.user_id NOT IN (SELECT n.user_id FROM recent_last_plays AS n)
) AS lost ON p.user_id = lost.user_id
GROUP BY p.user_id
UNION ALL
SELECT
    n.user_id,
    n.start_time
FROM recent_last_plays AS n
UNION ALL
SELECT
    k.user_id,
    k.start_time
FROM user_last_plays AS k
INNER JOIN redo_from AS r ON k.user_id = r.user_id AND k.start_time < r.changed_from
WHERE k.user_id NOT IN (SELECT n.user_id FROM recent_last_plays AS n);

-- postgres: ANALYZE last_plays;

DROP TABLE IF EXISTS latest_plays;

-- each user's latest play as staged (of copies of the same event, the one read first), in a table of its
-- own: its row count known (ANALYZE), the joins below are by hash; estimated at one row from the join
-- that finds it, they were nested loops, one of them over every user's periods for every user
CREATE TEMP TABLE latest_plays AS
SELECT
    latest.user_id,
    latest.first_name,
    latest.last_name,
    latest.gender,
    latest.registration,
    latest.last_play
FROM (
    SELECT
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.registration,
        l.start_time AS last_play,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id
            ORDER BY e.session_id DESC, e.item_in_session DESC, e.source_file ASC, e.source_line ASC
        ) AS pick
    FROM staging_events AS e
    INNER JOIN last_plays AS l ON e.user_id = l.user_id AND e.start_time = l.start_time
    WHERE
        e.page = 'NextSong'
        AND e.start_time BETWEEN (SELECT MIN(x.start_time) FROM last_plays AS x)
        AND (SELECT MAX(x.start_time) FROM last_plays AS x)
) AS latest
WHERE latest.pick = 1;

-- postgres: ANALYZE latest_plays;

INSERT INTO users (user_id, first_name, last_name, gender, level, registration, first_play, last_play)
SELECT
    latest.user_id,
    COALESCE(rf.repaired, RTRIM(latest.first_name)) AS first_name,
    COALESCE(rl.repaired, RTRIM(latest.last_name)) AS last_name,
    RTRIM(latest.gender) AS gender,  -- without trailing blanks, which Redshift ignores when it compares
    lv.level,
    -- epoch ms in range (up to 9999, as ts) as a timestamp, else NULL: whole days, then the milliseconds of
    -- the day, each a factor that fits the 32-bit integer an engine may multiply an interval by. Redshift's
    -- interval literals: "Abbreviations and plurals of each unit are also supported" (millisecond is a
    -- date part there: "millisecond, milliseconds ms, msec, ...").
    CASE
        WHEN latest.registration BETWEEN 0 AND 253402300799999
            THEN
                TIMESTAMP 'epoch'
                + CAST(FLOOR(ROUND(latest.registration) / 86400000) AS INTEGER) * INTERVAL '1 day'
                + CAST(
                    ROUND(latest.registration) - FLOOR(ROUND(latest.registration) / 86400000) * 86400000 AS INTEGER
                ) * INTERVAL '1 millisecond'
    END AS registration,
    fp.first_play,
    latest.last_play
FROM latest_plays AS latest
INNER JOIN user_levels AS lv ON latest.user_id = lv.user_id AND lv.valid_to IS NULL
-- a user's first period in user_levels opens with their first play
INNER JOIN (
    SELECT
        f.user_id,
        MIN(f.valid_from) AS first_play
    FROM user_levels AS f
    GROUP BY f.user_id
) AS fp ON latest.user_id = fp.user_id
LEFT JOIN text_repairs AS rf ON RTRIM(latest.first_name) = rf.original
LEFT JOIN text_repairs AS rl ON RTRIM(latest.last_name) = rl.original;

DELETE FROM user_last_plays
WHERE
    (SELECT run.rebuild FROM transform_run AS run) = 1
    OR user_id IN (SELECT u.user_id FROM scope_users AS u);

INSERT INTO user_last_plays (user_id, start_time)
SELECT
    l.user_id,
    l.start_time
FROM last_plays AS l
WHERE l.user_id IN (SELECT u.user_id FROM users AS u);
