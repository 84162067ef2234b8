-- What do people listen on?
-- Grain: one row per device family, operating system and browser (ua-parser's names for the play's
-- user agent; "Other" where its rules know none), most plays first, ties by device, os, browser.
-- chart: barh browser,os plays
SELECT
    device,
    os,
    browser,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS listeners
FROM songplays
GROUP BY device, os, browser
ORDER BY plays DESC, device ASC, os ASC, browser ASC;
