-- check-source: what the ELT (elt_person_period.sql) would make of the
-- source tables as of a date (the one parameter), read without writing.
-- One row per item: the item's name and a count. Each engagement event is
-- counted once, under the first reason it is left out (or 'used'), in the
-- order the CASE tests them.
WITH
params AS (SELECT ? AS as_of),
fate AS (
    SELECT CASE
               WHEN p.patient_id IS NULL THEN 'unknown_patient'
               WHEN e.occurred_on IS NULL THEN 'missing_date'
               WHEN p.enrolled_on IS NULL OR p.enrolled_on >= params.as_of THEN 'patient_not_enrolled'
               WHEN e.occurred_on >= params.as_of THEN 'on_or_after_as_of'
               WHEN EXISTS (SELECT 1 FROM disenrolments d
                            WHERE d.patient_id = e.patient_id AND d.disenrolled_on < params.as_of
                              AND e.occurred_on > d.disenrolled_on) THEN 'after_disenrolment'
               WHEN e.kind IS NULL OR e.kind NOT IN ('session', 'message') THEN 'other_kind'
               ELSE 'used'
           END AS fate
    FROM engagement_events e
    CROSS JOIN params
    LEFT JOIN (SELECT DISTINCT patient_id, enrolled_on FROM patients) p ON p.patient_id = e.patient_id
)
SELECT 'patients.rows' AS item, COUNT(*) AS n FROM patients
UNION ALL SELECT 'patients.ids', COUNT(DISTINCT patient_id) FROM patients
UNION ALL SELECT 'patients.missing_id', COUNT(*) FROM patients WHERE patient_id IS NULL
UNION ALL SELECT 'patients.missing_id_in_period', COUNT(*) FROM patients CROSS JOIN params
    WHERE patient_id IS NULL AND enrolled_on < params.as_of
UNION ALL SELECT 'patients.missing_enrolled_on', COUNT(*) FROM patients WHERE enrolled_on IS NULL
UNION ALL SELECT 'patients.missing_value', COUNT(*) FROM patients
    WHERE age IS NULL OR sex IS NULL OR program IS NULL OR channel IS NULL
       OR prior_no_shows IS NULL OR enrolled_via IS NULL
UNION ALL SELECT 'patients.enrolled_on_or_after_as_of', COUNT(*) FROM patients CROSS JOIN params
    WHERE enrolled_on >= params.as_of
UNION ALL SELECT 'patients.without_events', COUNT(*) FROM patients p
    WHERE NOT EXISTS (SELECT 1 FROM engagement_events e WHERE e.patient_id = p.patient_id)
UNION ALL SELECT 'events.rows', COUNT(*) FROM engagement_events
UNION ALL SELECT 'events.' || fate, COUNT(*) FROM fate GROUP BY fate
UNION ALL SELECT 'disenrolments.rows', COUNT(*) FROM disenrolments
UNION ALL SELECT 'disenrolments.duplicate', COUNT(*) - COUNT(DISTINCT patient_id) FROM disenrolments
UNION ALL SELECT 'disenrolments.unknown_patient', COUNT(*) FROM disenrolments d
    WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = d.patient_id)
UNION ALL SELECT 'disenrolments.missing_date', COUNT(*) FROM disenrolments WHERE disenrolled_on IS NULL
UNION ALL SELECT 'disenrolments.before_enrolment', COUNT(*) FROM disenrolments d JOIN patients p ON p.patient_id = d.patient_id
    WHERE d.disenrolled_on < p.enrolled_on
UNION ALL SELECT 'disenrolments.on_or_after_as_of', COUNT(*) FROM disenrolments d CROSS JOIN params
    WHERE d.disenrolled_on >= params.as_of
      AND EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = d.patient_id AND p.enrolled_on < params.as_of)
