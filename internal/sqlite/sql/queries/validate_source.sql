-- Problems in the source tables that would make the ELT wrong.
SELECT
    (SELECT COUNT(*) FROM patients) AS patients,
    (SELECT COUNT(*) FROM disenrolments d JOIN patients p ON p.patient_id = d.patient_id
      WHERE d.disenrolled_on < p.enrolled_on) AS disenrolled_before_enrolment
