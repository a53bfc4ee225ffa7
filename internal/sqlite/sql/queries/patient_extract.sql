-- One patient's row of the prediction extract (prediction_extract.sql):
-- features known at the start of the month in progress. months enrolled =
-- month - 1.
SELECT pp.patient_id, pp.month, pp.status, 0 AS event,
       p.age, p.sex, p.program, p.channel, p.baseline_score, p.prior_no_shows, p.enrolled_via,
       pp.sessions_last_month, pp.days_since_last_session, pp.messages_last_month
FROM person_period pp
JOIN patients p ON p.patient_id = pp.patient_id
WHERE pp.patient_id = ? AND +pp.status = 'current' -- by the primary key, not the status index
