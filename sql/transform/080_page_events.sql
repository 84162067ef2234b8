-- page_events: one row per event of a logged-in user, every page, rebuilt for the sessions in scope
-- (every event of each, whatever file it came in; all of them on a rebuild) from session_events
-- (010_scope.sql), where an event staged more than once is one row already.
-- event_id is the MD5 of the event's key: user, session, item in session, ts and page. Rows go in the
-- order session_events was written in, that of ts, so the BRIN index on start_time stays tight.
DELETE FROM page_events
WHERE (SELECT run.rebuild FROM transform_run AS run) = 1;

-- USING names its table without an alias: Redshift's DELETE grammar shows none ("USING table_name")
DELETE FROM page_events
USING scope_sessions
WHERE
    page_events.start_time BETWEEN (SELECT w.from_time FROM session_span AS w)
    AND (SELECT w.to_time FROM session_span AS w)
    AND page_events.user_id = scope_sessions.user_id
    AND (
        page_events.session_id = scope_sessions.session_id
        OR (page_events.session_id IS NULL AND scope_sessions.session_id IS NULL)
    );

INSERT INTO page_events (
    event_id, start_time, user_id, session_id, item_in_session, page, level, status, method
)
SELECT
    MD5(
        e.user_id || '|' || COALESCE(CAST(e.session_id AS VARCHAR(20)), '') || '|'
        || COALESCE(CAST(e.item_in_session AS VARCHAR(11)), '') || '|' || CAST(e.ts AS VARCHAR(20))
        || '|' || COALESCE(e.page, '')
    ) AS event_id,
    e.start_time,
    e.user_id,
    e.session_id,
    e.item_in_session,
    e.page,
    e.level,
    e.status,
    e.method
FROM session_events AS e;

-- postgres: SELECT BRIN_SUMMARIZE_NEW_VALUES('page_events_start_time');
