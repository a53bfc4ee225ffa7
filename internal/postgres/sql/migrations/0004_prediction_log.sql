-- Every prediction the API served: the model version, the inputs exactly as
-- received (text, not a normalised JSON type), the transformed features'
-- hash and the outputs, so it can be rescored offline and compared. The id
-- is unique so a replayed batch is stored once.
CREATE TABLE prediction_log (
    id            TEXT PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    model_name    TEXT NOT NULL,
    model_version TEXT NOT NULL,
    route         TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    patient_id    TEXT NOT NULL,  -- pseudonymised when the server is configured to
    inputs        TEXT NOT NULL,
    features_hash TEXT NOT NULL,
    outputs       TEXT NOT NULL
);
CREATE INDEX prediction_log_model ON prediction_log (model_name, model_version, at);
