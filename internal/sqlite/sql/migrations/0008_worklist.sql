-- The worklist: each score's risk of dropping off within the next 30
-- days (the same window for every patient, whatever part of their month
-- has passed), its risk band within the run by that risk (1 high: the
-- top tenth, 2 medium: the next fifth, 3 low) and its
-- drivers (a JSON array of the features that raise the risk most, with
-- their words), stored when the run is scored so that lists need not
-- recompute explanations; and the care team's contacts with patients.
ALTER TABLE scores ADD COLUMN band INTEGER NOT NULL DEFAULT 3 CHECK (band BETWEEN 1 AND 3);
ALTER TABLE scores ADD COLUMN drivers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE scores ADD COLUMN risk_30d REAL NOT NULL DEFAULT 0;

-- Runs scored before: the month in progress's hazard stands for the
-- 30-day risk (exact for runs scored at the start of patients' months).
UPDATE scores SET risk_30d = hazard_next;

-- Runs scored before: bands from their ranks; no drivers.
UPDATE scores SET band = r.band
FROM (SELECT run_id, patient_id,
             CASE WHEN rnk * 10 < n THEN 1 WHEN rnk * 10 < 3 * n THEN 2 ELSE 3 END AS band
      FROM (SELECT run_id, patient_id,
                   ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY risk_30d DESC, patient_id) - 1 AS rnk,
                   COUNT(*) OVER (PARTITION BY run_id) AS n
            FROM scores) ranked) r
WHERE scores.run_id = r.run_id AND scores.patient_id = r.patient_id;

CREATE INDEX scores_risk_30d ON scores (run_id, risk_30d DESC);
CREATE INDEX scores_lost ON scores (run_id, expected_months);
CREATE INDEX scores_patient ON scores (patient_id, run_id);

-- No foreign key to patients: the source tables are replaced by loads,
-- and may be views over an organisation's own tables.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    patient_id  TEXT        NOT NULL,
    at          TEXT    NOT NULL,
    outcome     TEXT        NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'declined', 're_engaged')),
    note        TEXT        NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    recorded_by TEXT        NOT NULL
) STRICT;
CREATE INDEX contacts_patient ON contacts (patient_id, at DESC);

-- The care role (the worklist, patient pages and contacts): SQLite cannot
-- change a CHECK, so the key table is rebuilt with its rows.
CREATE TABLE api_keys_new (
    id          TEXT PRIMARY KEY CHECK (id <> ''),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('predict', 'care', 'viewer', 'admin')),
    secret_hash BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT               -- NULL while the key is valid
) STRICT;
INSERT INTO api_keys_new (id, name, role, secret_hash, created_at, revoked_at)
SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE INDEX api_keys_created ON api_keys (created_at, id);
