-- users: rebuilt from the NextSong events of logged-in users, one row per user_id.
-- Names, gender and level come from the user's latest play, so a user who upgraded or downgraded
-- carries the level they are on now.
DELETE FROM users;

INSERT INTO users (user_id, first_name, last_name, gender, level)
SELECT
    user_id,
    first_name,
    last_name,
    gender,
    level
FROM (
    SELECT
        user_id,
        first_name,
        last_name,
        gender,
        level,
        ROW_NUMBER() OVER (
            PARTITION BY user_id
            ORDER BY ts DESC, session_id DESC, item_in_session DESC, source_file DESC, source_line DESC
        ) AS pick
    FROM staging_events
    WHERE page = 'NextSong' AND user_id <> ''
) AS ranked
WHERE pick = 1;
