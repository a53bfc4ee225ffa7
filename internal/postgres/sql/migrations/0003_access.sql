-- API keys: only a hash of each secret is stored.
CREATE TABLE api_keys (
    id          TEXT        PRIMARY KEY CHECK (id <> ''),
    name        TEXT        NOT NULL,
    role        TEXT        NOT NULL CHECK (role IN ('predict', 'viewer', 'admin')),
    secret_hash BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ          -- NULL while the key is valid
);
CREATE INDEX api_keys_created ON api_keys (created_at, id);

-- Administrative actions, append-only. Nothing is refused but an entry
-- without an action or outcome: the log must not lose what happened.
CREATE TABLE audit_log (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT        NOT NULL,
    key_id     TEXT        NOT NULL DEFAULT '',  -- '' for the command line
    action     TEXT        NOT NULL,
    target     TEXT        NOT NULL DEFAULT '',
    outcome    TEXT        NOT NULL,  -- 'ok', 'denied', 'refused', 'failed'
    detail     TEXT        NOT NULL DEFAULT '',
    request_id TEXT        NOT NULL DEFAULT ''
);
