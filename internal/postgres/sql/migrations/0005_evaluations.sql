-- Monitoring reports written by caresignal evaluate report: headline
-- figures and flags (JSON) for the server's metrics and monitoring page,
-- the whole report as JSON and as a self-contained HTML page.
CREATE TABLE evaluations (
    id            BIGSERIAL PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL,
    model_name    TEXT NOT NULL,
    model_version TEXT NOT NULL,
    figures       TEXT NOT NULL,
    flags         TEXT NOT NULL,
    report        TEXT NOT NULL,
    html          TEXT NOT NULL
);
CREATE INDEX evaluations_model ON evaluations (model_name, id);
