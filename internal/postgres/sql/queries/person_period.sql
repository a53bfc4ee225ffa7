-- Patient ids sort byte-wise (COLLATE "C"), as in SQLite, whatever the database locale.
-- The whole person-period table with the static features, for inspection
-- and for checking that every database builds the same rows.
SELECT pp.patient_id, pp.month, pp.status,
       CASE WHEN pp.status = 'event' THEN 1 ELSE 0 END AS event,
       p.age, p.sex, p.program, p.channel, p.baseline_score, p.prior_no_shows, p.enrolled_via,
       pp.sessions_last_month, pp.days_since_last_session, pp.messages_last_month
FROM person_period pp
JOIN patients p ON p.patient_id = pp.patient_id
ORDER BY pp.patient_id COLLATE "C", pp.month
