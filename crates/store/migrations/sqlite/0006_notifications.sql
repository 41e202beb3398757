-- The notification outbox: one row per (channel, alert, event), written in the same transaction
-- that accepts the notification, so a restart never loses one that is still pending. A worker
-- per channel sends the due rows oldest first and records every attempt.
CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY,
    channel            TEXT    NOT NULL,
    alert_id           INTEGER NOT NULL,
    event              TEXT    NOT NULL CHECK (event IN ('fired', 'resolved')),
    -- What the channel formats its message from (no secret: those are added when sending).
    payload            TEXT    NOT NULL,
    state              TEXT    NOT NULL DEFAULT 'pending'
                               CHECK (state IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_us INTEGER NOT NULL,
    last_error         TEXT,
    created_at_us      INTEGER NOT NULL,
    sent_at_us         INTEGER,
    -- An alert's event is sent to a channel once, however often it is handed over.
    UNIQUE (channel, alert_id, event)
);
-- The workers' question: a channel's pending rows, oldest first.
CREATE INDEX deliveries_pending ON deliveries (channel, id)
    WHERE state = 'pending';
CREATE INDEX deliveries_alert ON deliveries (alert_id);

-- The Jira issue created for an alert: at most one per alert.
CREATE TABLE jira_issues (
    alert_id      INTEGER PRIMARY KEY,
    channel       TEXT    NOT NULL,
    issue_key     TEXT    NOT NULL,
    issue_id      TEXT,
    issue_url     TEXT,
    created_at_us INTEGER NOT NULL
);
