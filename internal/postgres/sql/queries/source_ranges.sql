-- check-source: the date range of each source table (NULLs when empty).
SELECT
    (SELECT MIN(enrolled_on) FROM patients) AS enrolled_first,
    (SELECT MAX(enrolled_on) FROM patients) AS enrolled_last,
    (SELECT MIN(occurred_on) FROM engagement_events) AS occurred_first,
    (SELECT MAX(occurred_on) FROM engagement_events) AS occurred_last,
    (SELECT MIN(disenrolled_on) FROM disenrolments) AS disenrolled_first,
    (SELECT MAX(disenrolled_on) FROM disenrolments) AS disenrolled_last
