-- users: one row per user who played a song, rebuilt for the users in scope (all of them on a
-- rebuild). Names and gender come from the user's latest play (latest ts, then session, then item;
-- of copies of the same event, the one read first), so they are current; level is the level of the
-- user's open period in user_levels, the tier they are on now.
-- The latest ts is found per user by aggregation, not by sorting every play by user.
DELETE FROM users
WHERE
    (SELECT run.rebuild FROM transform_run AS run) = 1
    OR user_id IN (SELECT u.user_id FROM scope_users AS u);

INSERT INTO users (user_id, first_name, last_name, gender, level)
SELECT
    latest.user_id,
    latest.first_name,
    latest.last_name,
    latest.gender,
    lv.level
FROM (
    SELECT
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id
            ORDER BY e.session_id DESC, e.item_in_session DESC, e.source_file ASC, e.source_line ASC
        ) AS pick
    FROM staging_events AS e
    INNER JOIN (
        SELECT
            x.user_id,
            MAX(x.ts) AS ts
        FROM staging_events AS x
        WHERE
            x.page = 'NextSong' AND x.user_id <> ''
            AND (
                (SELECT run.rebuild FROM transform_run AS run) = 1
                OR x.user_id IN (SELECT u.user_id FROM scope_users AS u)
            )
        GROUP BY x.user_id
    ) AS last_play ON e.user_id = last_play.user_id AND e.ts = last_play.ts
    WHERE e.page = 'NextSong'
) AS latest
INNER JOIN user_levels AS lv ON latest.user_id = lv.user_id AND lv.valid_to IS NULL
WHERE latest.pick = 1;
