-- The generation of each model name's serving state (its production
-- version, canary and shadow): every transaction that changes the state
-- increases it, so a server can tell with one small query whether what it
-- serves is current, and say which state that is. No row: generation 0.
CREATE TABLE model_generations (
    name       TEXT    PRIMARY KEY,
    generation INTEGER NOT NULL CHECK (generation > 0),
    changed_at TEXT    NOT NULL,
    changed_by TEXT    NOT NULL
) STRICT;

-- A canary or shadow naming the production version is no longer allowed
-- (it answered as production did, and came back to life when production
-- moved on); clear those saved before.
UPDATE model_serving SET canary_version = NULL, canary_percent = 0
 WHERE canary_version IN (SELECT version FROM model_versions v WHERE v.name = model_serving.name AND v.stage = 'production');
UPDATE model_serving SET shadow_version = NULL
 WHERE shadow_version IN (SELECT version FROM model_versions v WHERE v.name = model_serving.name AND v.stage = 'production');
