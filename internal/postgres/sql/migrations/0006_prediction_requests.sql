-- The prediction log, one row per request: an API request, or a chunk of a
-- batch scoring run. items is a JSON array with one object per instance:
-- {"patient_id", "features_hash", "inputs", "outputs"}, the inputs exactly as
-- received (text, read as json, which keeps it as it is). kind says what the
-- instances are: patient (a request object of POST /api/engagement),
-- person_period (a row of MLflow /invocations) or whatif (a patient scored
-- from the what-if form, left out of drift and follow-up). The id is unique
-- so a replayed batch is stored once.
CREATE TABLE prediction_requests (
    id            TEXT PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    model_name    TEXT NOT NULL,
    model_version TEXT NOT NULL,
    route         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('patient', 'person_period', 'whatif')),
    request_id    TEXT NOT NULL,
    instances     INTEGER NOT NULL CHECK (instances > 0),
    items         TEXT NOT NULL
);
CREATE INDEX prediction_requests_model ON prediction_requests (model_name, model_version, at);

-- One row per prediction, from both tables: the rows earlier versions
-- stored one per prediction, and each instance of a request. A request's
-- instances are "<id>/00000", "<id>/00001", ... in order.
CREATE VIEW predictions AS
SELECT id, at, model_name, model_version, route,
       CASE WHEN route LIKE '%/invocations' OR route LIKE '%/invocations (shadow)' THEN 'person_period' ELSE 'patient' END AS kind,
       request_id, patient_id, inputs, features_hash, outputs
  FROM prediction_log
UNION ALL
SELECT r.id || '/' || lpad((e.n - 1)::text, 5, '0'), r.at, r.model_name, r.model_version, r.route, r.kind, r.request_id,
       COALESCE(e.item->>'patient_id', ''), (e.item->'inputs')::text,
       COALESCE(e.item->>'features_hash', ''), (e.item->'outputs')::text
  FROM prediction_requests r CROSS JOIN LATERAL json_array_elements(r.items::json) WITH ORDINALITY AS e(item, n);
