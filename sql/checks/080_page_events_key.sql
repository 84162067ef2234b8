-- page_events.event_id is present and unique
-- The key is grouped as a value (event_id || ''), as in 010_songplays_key.sql: Redshift's planner takes a
-- declared key for unique, and the gate runs while it is still unproven.
SELECT
    k.event_id,
    COUNT(*) AS copies
FROM (
    SELECT event_id || '' AS event_id
    FROM page_events
) AS k
GROUP BY k.event_id
HAVING k.event_id IS NULL OR COUNT(*) > 1;

-- scoped: the page events of the sessions the transform rebuilt (scope_sessions), through their span.
-- An event_id hashes the event's user, session and ts, so a copy of a rebuilt event is in the same session
-- at the same time: among the rows read here.
SELECT
    k.event_id,
    COUNT(*) AS copies
FROM (
    SELECT e.event_id || '' AS event_id
    FROM page_events AS e
    INNER JOIN scope_sessions AS c
        ON
            e.user_id = c.user_id
            AND (e.session_id = c.session_id OR (e.session_id IS NULL AND c.session_id IS NULL))
    WHERE
        e.start_time BETWEEN (SELECT w.from_time FROM session_span AS w)
        AND (SELECT w.to_time FROM session_span AS w)
) AS k
GROUP BY k.event_id
HAVING k.event_id IS NULL OR COUNT(*) > 1;
