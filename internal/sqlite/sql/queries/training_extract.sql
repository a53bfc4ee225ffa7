-- Training extract: every person-period row whose outcome is known (the
-- month is over), with event = 1 in the month the patient disengaged.
SELECT pp.patient_id, pp.month, pp.status,
       CASE WHEN pp.status = 'event' THEN 1 ELSE 0 END AS event,
       p.age, p.sex, p.program, p.channel, p.baseline_score, p.prior_no_shows, p.enrolled_via,
       pp.sessions_last_month, pp.days_since_last_session, pp.messages_last_month
FROM person_period pp
JOIN patients p ON p.patient_id = pp.patient_id
WHERE pp.status IN ('event', 'survived', 'censored')
ORDER BY pp.patient_id, pp.month
