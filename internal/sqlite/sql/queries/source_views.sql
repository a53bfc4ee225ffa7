-- The source tables that are views (onto an organisation's own tables),
-- which generate and load cannot write into.
SELECT name FROM sqlite_schema
WHERE type = 'view' AND name IN ('patients', 'engagement_events', 'disenrolments')
ORDER BY name
