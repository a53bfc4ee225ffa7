-- The source tables that are views (onto an organisation's own tables: see
-- docs/data.md), which generate and load cannot write into. Names resolve
-- through the search_path, as the ELT's do.
SELECT c.relname FROM pg_class c
WHERE c.oid IN (to_regclass('patients'), to_regclass('engagement_events'), to_regclass('disenrolments'))
  AND c.relkind IN ('v', 'm')
ORDER BY c.relname
