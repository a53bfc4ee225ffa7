-- Source tables, shaped like a care program's operational database.
CREATE TABLE patients (
    patient_id     TEXT             PRIMARY KEY,
    enrolled_on    DATE             NOT NULL,
    age            INTEGER          NOT NULL,
    sex            TEXT             NOT NULL,
    program        TEXT             NOT NULL,
    channel        TEXT             NOT NULL,
    baseline_score DOUBLE PRECISION,          -- NULL: no baseline assessment
    prior_no_shows INTEGER          NOT NULL,
    enrolled_via   TEXT             NOT NULL
);

CREATE TABLE engagement_events (
    patient_id  TEXT NOT NULL REFERENCES patients (patient_id),
    occurred_on DATE NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'message'))
);
CREATE INDEX engagement_events_patient ON engagement_events (patient_id, occurred_on);

-- reason 'disengaged' is a drop-off; any other reason (a transfer) ends
-- observation without one.
CREATE TABLE disenrolments (
    patient_id     TEXT PRIMARY KEY REFERENCES patients (patient_id),
    disenrolled_on DATE NOT NULL,
    reason         TEXT NOT NULL
);

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
);
CREATE INDEX person_period_status ON person_period (status);

CREATE TABLE elt_runs (
    id                 BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of              DATE        NOT NULL,
    person_period_rows INTEGER     NOT NULL,
    finished_at        TIMESTAMPTZ NOT NULL
);

-- Batch scores: one run per model version and as-of date.
CREATE TABLE score_runs (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_name    TEXT        NOT NULL,
    model_version TEXT        NOT NULL,
    as_of         DATE        NOT NULL,
    scored_at     TIMESTAMPTZ NOT NULL,
    horizon       INTEGER     NOT NULL,
    patients      INTEGER     NOT NULL,
    UNIQUE (model_version, as_of)
);

CREATE TABLE scores (
    run_id          BIGINT           NOT NULL REFERENCES score_runs (id),
    patient_id      TEXT             NOT NULL,
    months_enrolled INTEGER          NOT NULL,
    hazard_next     DOUBLE PRECISION NOT NULL,
    survival_end    DOUBLE PRECISION NOT NULL,
    expected_months DOUBLE PRECISION NOT NULL,
    median_months   INTEGER,
    PRIMARY KEY (run_id, patient_id)
);
CREATE INDEX scores_risk ON scores (run_id, hazard_next DESC);
