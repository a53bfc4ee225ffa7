-- Model registry: one row per published artifact version.
CREATE TABLE model_versions (
    name             TEXT        NOT NULL CHECK (name <> ''),
    version          TEXT        NOT NULL CHECK (version <> ''),
    stage            TEXT        NOT NULL CHECK (stage IN ('staging', 'production', 'archived')),
    checksum         TEXT        NOT NULL,  -- hex SHA-256 of artifact
    size             BIGINT      NOT NULL CHECK (size >= 0),
    artifact         BYTEA       NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    stage_changed_at TIMESTAMPTZ NOT NULL,
    note             TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (name, version)
);
-- At most one production version per name.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (name) WHERE stage = 'production';
CREATE INDEX model_versions_created ON model_versions (created_at);

-- Every stage change, append-only. from_stage is NULL for a publication.
-- cause tells a rollback from an ordinary change, so that rolling back
-- twice walks back two activations instead of undoing the first rollback.
-- No foreign key: history outlives the versions it names.
CREATE TABLE model_stage_history (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL,
    version    TEXT        NOT NULL,
    from_stage TEXT        CHECK (from_stage IN ('staging', 'production', 'archived')),
    to_stage   TEXT        NOT NULL CHECK (to_stage IN ('staging', 'production', 'archived')),
    cause      TEXT        NOT NULL CHECK (cause IN ('publish', 'set_stage', 'rollback')),
    actor      TEXT        NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX model_stage_history_name ON model_stage_history (name, id);

-- Canary and shadow settings per model name; NULL versions mean none.
CREATE TABLE model_serving (
    name           TEXT             PRIMARY KEY,
    canary_version TEXT,
    canary_percent DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (canary_percent >= 0 AND canary_percent <= 100),
    shadow_version TEXT,
    updated_at     TIMESTAMPTZ      NOT NULL,
    updated_by     TEXT             NOT NULL,
    FOREIGN KEY (name, canary_version) REFERENCES model_versions (name, version),
    FOREIGN KEY (name, shadow_version) REFERENCES model_versions (name, version)
);
