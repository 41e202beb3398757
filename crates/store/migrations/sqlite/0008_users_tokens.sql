-- Users who sign in and the API tokens of scripts and CI.

-- A user: a name unique without regard to case, a role, and the Argon2id hash of the password
-- as a PHC string (never the password).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- An API token: only the SHA-256 of its secret is kept. A name is unique among the tokens not
-- revoked, so a revoked token's name may be used again.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL COLLATE NOCASE,
    role            TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'ingest')),
    secret_sha256   TEXT    NOT NULL UNIQUE,
    created_at_us   INTEGER NOT NULL,
    expires_at_us   INTEGER,
    revoked_at_us   INTEGER,
    last_used_at_us INTEGER
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at_us IS NULL;
