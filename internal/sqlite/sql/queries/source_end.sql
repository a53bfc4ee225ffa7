-- The day after the latest date in the source tables: the default as-of date.
SELECT date(MAX(d), '+1 day') FROM (
    SELECT MAX(enrolled_on) AS d FROM patients
    UNION ALL SELECT MAX(occurred_on) FROM engagement_events
    UNION ALL SELECT MAX(disenrolled_on) FROM disenrolments
)
