-- page_events.event_id is present and unique
SELECT
    event_id,
    COUNT(*) AS copies
FROM page_events
GROUP BY event_id
HAVING event_id IS NULL OR COUNT(*) > 1;
