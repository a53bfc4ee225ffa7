-- Source tables, shaped like a care program's operational database.
-- Dates are ISO-8601 text (YYYY-MM-DD); the CHECKs refuse anything else.
CREATE TABLE patients (
    patient_id     TEXT    PRIMARY KEY,
    enrolled_on    TEXT    NOT NULL CHECK (enrolled_on = date(enrolled_on)),
    age            INTEGER NOT NULL,
    sex            TEXT    NOT NULL,
    program        TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    baseline_score REAL,                      -- NULL: no baseline assessment
    prior_no_shows INTEGER NOT NULL,
    enrolled_via   TEXT    NOT NULL
) STRICT;

CREATE TABLE engagement_events (
    patient_id  TEXT NOT NULL REFERENCES patients (patient_id),
    occurred_on TEXT NOT NULL CHECK (occurred_on = date(occurred_on)),
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'message'))
) STRICT;
CREATE INDEX engagement_events_patient ON engagement_events (patient_id, occurred_on);

-- reason 'disengaged' is a drop-off; any other reason (a transfer) ends
-- observation without one.
CREATE TABLE disenrolments (
    patient_id     TEXT PRIMARY KEY REFERENCES patients (patient_id),
    disenrolled_on TEXT NOT NULL CHECK (disenrolled_on = date(disenrolled_on)),
    reason         TEXT NOT NULL
) STRICT;

-- Intermediate table built by the ELT: one row per patient per month at
-- risk, with the monthly features known at the start of the month.
CREATE TABLE person_period (
    patient_id              TEXT    NOT NULL,
    month                   INTEGER NOT NULL CHECK (month >= 1),
    status                  TEXT    NOT NULL CHECK (status IN ('event', 'survived', 'censored', 'current', 'incomplete')),
    sessions_last_month     INTEGER NOT NULL,
    days_since_last_session INTEGER,           -- NULL: no session yet
    messages_last_month     INTEGER NOT NULL,
    PRIMARY KEY (patient_id, month)
) STRICT;
CREATE INDEX person_period_status ON person_period (status);

CREATE TABLE elt_runs (
    id                 INTEGER PRIMARY KEY,
    as_of              TEXT    NOT NULL,
    person_period_rows INTEGER NOT NULL,
    finished_at        TEXT    NOT NULL
) STRICT;

-- Batch scores: one run per model version and as-of date.
CREATE TABLE score_runs (
    id            INTEGER PRIMARY KEY,
    model_name    TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    as_of         TEXT    NOT NULL,
    scored_at     TEXT    NOT NULL,
    horizon       INTEGER NOT NULL,
    patients      INTEGER NOT NULL,
    UNIQUE (model_version, as_of)
) STRICT;

CREATE TABLE scores (
    run_id          INTEGER NOT NULL REFERENCES score_runs (id),
    patient_id      TEXT    NOT NULL,
    months_enrolled INTEGER NOT NULL,
    hazard_next     REAL    NOT NULL,
    survival_end    REAL    NOT NULL,
    expected_months REAL    NOT NULL,
    median_months   INTEGER,
    PRIMARY KEY (run_id, patient_id)
) STRICT;
CREATE INDEX scores_risk ON scores (run_id, hazard_next DESC);
