-- songplays: one row per play, i.e. per NextSong event of a logged-in user, rebuilt for the plays in
-- scope (all of them on a rebuild).
-- songplay_id is the MD5 of the play's key (user, session, item in session, ts), as in 010_scope.sql.
-- An event staged more than once (two files, a re-sent file) is one play: the copy read first (by
-- source file, then line) gives its columns; the copies are told apart in time order (ts first), the
-- order staging is already in, so the sort costs little. The song is the one whose title, artist
-- name and duration equal the event's song, artist and length (titles and names without trailing
-- blanks, as Redshift compares text anyway; the logged text repaired by text_repairs, built by
-- lookups.py); when several do, the lowest song_id, and of its copies
-- the one read first: a total order, as ROW_NUMBER numbers ties "nondeterministically" (Redshift's
-- ROW_NUMBER page), and the same input must give the same star. Plays without a match keep NULL
-- song and artist. The play keeps the title, artist name and length the app logged, the text repaired
-- and without trailing blanks, and its location and user agent as location_parts and user_agent_parts
-- give them (repaired, unquoted) with their parts. scope_times keeps the start times the plays in
-- scope had before, for 070_time.sql (their start times now are those of scope_events). The plays in scope are found
-- through the start times they span.
DROP TABLE IF EXISTS scope_times;

CREATE TEMP TABLE scope_times AS
SELECT p.start_time
FROM songplays AS p
WHERE
    p.start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
    AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
    AND p.songplay_id IN (SELECT s.songplay_id FROM scope_plays AS s);

DELETE FROM songplays
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1;

DELETE FROM songplays
WHERE
    start_time BETWEEN (SELECT MIN(s.start_time) FROM scope_plays AS s)
    AND (SELECT MAX(s.start_time) FROM scope_plays AS s)
    AND songplay_id IN (SELECT s.songplay_id FROM scope_plays AS s);

DROP TABLE IF EXISTS song_match;

-- the song each title, artist name and duration matches, in a table of its own: its row count known
-- (ANALYZE), the planner joins the plays to it by hash; estimated from the window's filter instead, it
-- once chose a nested loop of every play against every song
CREATE TEMP TABLE song_match AS
SELECT
    ranked.title,
    ranked.artist_name,
    ranked.duration,
    ranked.song_id,
    ranked.artist_id
FROM (
    SELECT
        RTRIM(title) AS title,
        RTRIM(artist_name) AS artist_name,
        duration,
        song_id,
        artist_id,
        ROW_NUMBER() OVER (
            PARTITION BY RTRIM(title), RTRIM(artist_name), duration ORDER BY song_id, source_file, source_line
        ) AS pick
    FROM staging_songs
) AS ranked
WHERE ranked.pick = 1;

-- postgres: ANALYZE song_match;

INSERT INTO songplays (
    songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent,
    song_title, artist_name, song_length, metro, state, browser, os, device
)
SELECT
    p.songplay_id,
    p.start_time,
    p.user_id,
    p.level,
    m.song_id,
    m.artist_id,
    p.session_id,
    COALESCE(lp.repaired, RTRIM(p.location)) AS location,
    COALESCE(ua.unquoted, p.user_agent) AS user_agent,
    COALESCE(rs.repaired, RTRIM(p.song)) AS song_title,
    COALESCE(ra.repaired, RTRIM(p.artist)) AS artist_name,
    p.length AS song_length,
    lp.metro,
    lp.state,
    ua.browser,
    ua.os,
    ua.device
FROM (
    SELECT
        e.songplay_id,
        e.start_time,
        e.user_id,
        e.level,
        e.session_id,
        e.location,
        e.user_agent,
        e.song,
        e.artist,
        e.length,
        ROW_NUMBER() OVER (
            PARTITION BY e.ts, e.session_id, e.item_in_session, e.user_id
            ORDER BY e.source_file, e.source_line
        ) AS copy
    FROM (
        -- a rebuild: every staged play
        SELECT
            MD5(
                a.user_id || '|' || COALESCE(CAST(a.session_id AS VARCHAR(20)), '') || '|'
                || COALESCE(CAST(a.item_in_session AS VARCHAR(11)), '') || '|' || CAST(a.ts AS VARCHAR(20))
            ) AS songplay_id,
            a.user_id,
            a.session_id,
            a.item_in_session,
            a.ts,
            a.start_time,
            a.level,
            a.location,
            a.user_agent,
            a.song,
            a.artist,
            a.length,
            a.source_file,
            a.source_line
        FROM staging_events AS a
        WHERE
            a.page = 'NextSong' AND a.user_id <> ''
            AND (SELECT run.rebuild FROM transform_run AS run) = 1
        UNION ALL
        -- else: the plays in scope
        SELECT
            b.songplay_id,
            b.user_id,
            b.session_id,
            b.item_in_session,
            b.ts,
            b.start_time,
            b.level,
            b.location,
            b.user_agent,
            b.song,
            b.artist,
            b.length,
            b.source_file,
            b.source_line
        FROM scope_events AS b
    ) AS e
) AS p
LEFT JOIN text_repairs AS rs ON RTRIM(p.song) = rs.original
LEFT JOIN text_repairs AS ra ON RTRIM(p.artist) = ra.original
LEFT JOIN location_parts AS lp ON RTRIM(p.location) = lp.location
LEFT JOIN user_agent_parts AS ua ON RTRIM(p.user_agent) = ua.user_agent
LEFT JOIN song_match AS m
    ON
        COALESCE(rs.repaired, RTRIM(p.song)) = m.title
        AND COALESCE(ra.repaired, RTRIM(p.artist)) = m.artist_name
        AND p.length = m.duration
WHERE p.copy = 1;

-- postgres: SELECT BRIN_SUMMARIZE_NEW_VALUES('songplays_start_time');
-- postgres: ANALYZE scope_times;
