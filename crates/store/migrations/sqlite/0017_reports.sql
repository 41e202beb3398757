-- Reports made on a schedule (the plan's [[reports]]): the document as it was sent, so the link
-- in a chat message downloads the same bytes as the e-mail's attachment. One row per schedule
-- and due moment: a leader that makes a report twice (a new leader after a crash) stores it
-- once.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    schedule      TEXT    NOT NULL,
    due_at_us     INTEGER NOT NULL,
    start_date    TEXT    NOT NULL,
    end_date      TEXT    NOT NULL,
    format        TEXT    NOT NULL CHECK (format IN ('pdf', 'html')),
    body          BLOB    NOT NULL,
    created_at_us INTEGER NOT NULL,
    UNIQUE (schedule, due_at_us)
);
CREATE INDEX reports_created ON reports (created_at_us);

-- The outbox also carries reports (event 'report', `alert_id` holding the report's id). SQLite
-- cannot change a CHECK constraint in place: the table is made again with the wider one.
CREATE TABLE deliveries_new (
    id                 INTEGER PRIMARY KEY,
    channel            TEXT    NOT NULL,
    alert_id           INTEGER NOT NULL,
    event              TEXT    NOT NULL CHECK (event IN ('fired', 'resolved', 'report')),
    payload            TEXT    NOT NULL,
    state              TEXT    NOT NULL DEFAULT 'pending'
                               CHECK (state IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_us INTEGER NOT NULL,
    last_error         TEXT,
    created_at_us      INTEGER NOT NULL,
    sent_at_us         INTEGER,
    claimed_until_us   INTEGER,
    UNIQUE (channel, alert_id, event)
);
INSERT INTO deliveries_new (id, channel, alert_id, event, payload, state, attempts,
                            next_attempt_at_us, last_error, created_at_us, sent_at_us,
                            claimed_until_us)
    SELECT id, channel, alert_id, event, payload, state, attempts, next_attempt_at_us,
           last_error, created_at_us, sent_at_us, claimed_until_us
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (channel, id) WHERE state = 'pending';
CREATE INDEX deliveries_alert ON deliveries (alert_id);
CREATE INDEX deliveries_done ON deliveries (created_at_us) WHERE state <> 'pending';
