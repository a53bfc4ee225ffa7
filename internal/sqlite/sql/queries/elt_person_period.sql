-- ELT: expand every patient into one row per 30-day month at risk, as of a
-- date (the one parameter: the first day not in the data).
--
-- Month t of a patient covers days [30(t-1), 30t) after enrolment; the
-- onboarding window is the 30 days before it. A row for month t exists when
-- the month had begun by the as-of date and the patient had not left before
-- it began. Its features describe the 30 days before the month began
-- (bucket t-1; bucket 0 is onboarding): sessions and messages counted, and
-- the days since the last session ever (NULL if there was none).
--
-- Status: a month entirely before the as-of date is 'event' when the patient
-- disengaged in it, 'censored' when they transferred out in it (counted as a
-- survived month: censoring at the end of the interval), else 'survived'.
-- The month in progress is 'current' for a patient still enrolled, or
-- 'incomplete' for one who already left in it (kept out of training: an
-- unfinished month would count early exits only).
INSERT INTO person_period (patient_id, month, status, sessions_last_month, days_since_last_session, messages_last_month)
WITH RECURSIVE
params AS (SELECT ? AS as_of),
p AS (
    SELECT pt.patient_id,
           CAST(julianday(params.as_of) - julianday(pt.enrolled_on) AS INTEGER) AS span,
           CASE WHEN d.disenrolled_on < params.as_of
                THEN CAST(julianday(d.disenrolled_on) - julianday(pt.enrolled_on) AS INTEGER) END AS exit_day,
           CASE WHEN d.disenrolled_on < params.as_of THEN d.reason END AS reason
    FROM patients pt
    CROSS JOIN params
    LEFT JOIN disenrolments d ON d.patient_id = pt.patient_id
    WHERE pt.enrolled_on < params.as_of
),
seq (t) AS (
    SELECT 1
    UNION ALL
    SELECT t + 1 FROM seq WHERE t < (SELECT MAX(COALESCE(exit_day, span)) / 30 + 1 FROM p)
),
grid AS (
    SELECT p.patient_id, seq.t AS month, p.span, p.exit_day, p.reason
    FROM p JOIN seq ON seq.t <= COALESCE(p.exit_day, p.span) / 30 + 1
),
ev AS (
    SELECT e.patient_id, e.kind,
           CAST(julianday(e.occurred_on) - julianday(pt.enrolled_on) AS INTEGER) AS day
    FROM engagement_events e
    JOIN patients pt ON pt.patient_id = e.patient_id
    CROSS JOIN params
    WHERE e.occurred_on < params.as_of
),
agg AS (
    SELECT patient_id,
           CASE WHEN day < 0 THEN 0 ELSE day / 30 + 1 END AS bucket,
           SUM(CASE WHEN kind = 'session' AND day >= -30 THEN 1 ELSE 0 END) AS sessions,
           SUM(CASE WHEN kind = 'message' AND day >= -30 THEN 1 ELSE 0 END) AS messages,
           MAX(CASE WHEN kind = 'session' THEN day END) AS last_session_day
    FROM ev
    GROUP BY patient_id, CASE WHEN day < 0 THEN 0 ELSE day / 30 + 1 END
),
feat AS (
    SELECT g.patient_id, g.month, g.span, g.exit_day, g.reason,
           COALESCE(a.sessions, 0) AS sessions_last_month,
           COALESCE(a.messages, 0) AS messages_last_month,
           MAX(a.last_session_day) OVER (PARTITION BY g.patient_id ORDER BY g.month
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_session_day
    FROM grid g
    LEFT JOIN agg a ON a.patient_id = g.patient_id AND a.bucket = g.month - 1
)
SELECT patient_id, month,
       CASE
           WHEN exit_day / 30 + 1 = month THEN
               CASE WHEN 30 * month > span THEN 'incomplete'
                    WHEN reason = 'disengaged' THEN 'event'
                    ELSE 'censored' END
           WHEN 30 * month <= span THEN 'survived'
           ELSE 'current'
       END,
       sessions_last_month,
       30 * (month - 1) - last_session_day,
       messages_last_month
FROM feat
