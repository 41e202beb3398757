-- What the collectors remember between runs and across restarts.

-- Error entries the logs collectors read, for the recent errors list; the last 1,000 of each
-- collector are kept.
CREATE TABLE collector_log_errors (
    id        INTEGER PRIMARY KEY,
    collector TEXT    NOT NULL,
    time_us   INTEGER NOT NULL,
    level     TEXT    NOT NULL,
    message   TEXT    NOT NULL,
    file      TEXT    NOT NULL
);
CREATE INDEX collector_log_errors_by_collector ON collector_log_errors (collector, id);

-- Commits a git collector has walked: when each was made and the components whose paths it
-- touched (a JSON array).
CREATE TABLE collector_git_commits (
    collector      TEXT    NOT NULL,
    commit_sha     TEXT    NOT NULL,
    committed_at_us INTEGER NOT NULL,
    components     TEXT    NOT NULL,
    PRIMARY KEY (collector, commit_sha)
);

-- Matches of each pattern at each commit, so a restart does not count them again.
CREATE TABLE collector_git_counts (
    collector   TEXT    NOT NULL,
    commit_sha  TEXT    NOT NULL,
    pattern_key TEXT    NOT NULL,
    component   TEXT    NOT NULL,
    matches     INTEGER NOT NULL,
    PRIMARY KEY (collector, commit_sha, pattern_key)
);

-- Files a test reports collector has read (name, size and modification time), with the parse
-- error of those it refused, so a restart reads none of them again until it changes.
CREATE TABLE collector_files (
    collector      TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    modified_us    INTEGER NOT NULL,
    error          TEXT,
    recorded_at_us INTEGER NOT NULL,
    PRIMARY KEY (collector, name)
);

-- Small values a collector keeps across restarts, by key.
CREATE TABLE collector_state (
    collector TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (collector, key)
);
