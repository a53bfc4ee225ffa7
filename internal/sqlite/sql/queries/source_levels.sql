-- check-source: the levels of the categorical source columns with their
-- row counts (a NULL level is a missing value).
SELECT 'patients' AS tbl, 'sex' AS col, sex AS level, COUNT(*) AS n FROM patients GROUP BY sex
UNION ALL SELECT 'patients', 'program', program, COUNT(*) FROM patients GROUP BY program
UNION ALL SELECT 'patients', 'channel', channel, COUNT(*) FROM patients GROUP BY channel
UNION ALL SELECT 'patients', 'enrolled_via', enrolled_via, COUNT(*) FROM patients GROUP BY enrolled_via
UNION ALL SELECT 'engagement_events', 'kind', kind, COUNT(*) FROM engagement_events GROUP BY kind
UNION ALL SELECT 'disenrolments', 'reason', reason, COUNT(*) FROM disenrolments GROUP BY reason
