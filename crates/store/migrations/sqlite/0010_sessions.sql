-- Signed-in browsers. Only the SHA-256 of a session's cookie is kept; the CSRF token is a
-- second random value the pages put in their forms (it proves nothing on its own). A removed
-- user's sessions go with them.
CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    secret_sha256    TEXT    NOT NULL UNIQUE,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token       TEXT    NOT NULL,
    created_at_us    INTEGER NOT NULL,
    last_seen_at_us  INTEGER NOT NULL,
    expires_at_us    INTEGER NOT NULL,
    ended_at_us      INTEGER,
    client           TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
