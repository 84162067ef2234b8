-- user_levels: one row per user per period on one level, rebuilt for the users in scope (all of them
-- on a rebuild) from their plays in songplays, in time order. Plays at the same instant count as one:
-- the last of them (by session, then songplay_id) sets the level. A period runs from its first play to
-- the first play on another level; the last one is open (valid_to NULL).
DELETE FROM user_levels
WHERE
    (SELECT run.rebuild FROM transform_run AS run) = 1
    OR user_id IN (SELECT u.user_id FROM scope_users AS u);

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
            p.user_id,
            p.level,
            p.start_time,
            ROW_NUMBER() OVER (
                PARTITION BY p.user_id, p.start_time ORDER BY p.session_id DESC, p.songplay_id DESC
            ) AS last_at_instant
        FROM songplays AS p
        WHERE
            (SELECT run.rebuild FROM transform_run AS run) = 1
            OR p.user_id IN (SELECT u.user_id FROM scope_users AS u)
    ) AS instants
    WHERE instants.last_at_instant = 1
) AS plays
WHERE plays.previous IS NULL OR plays.previous <> COALESCE(plays.level, '');
