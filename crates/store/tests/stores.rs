//! Users, tokens, sessions, the audit log, the collectors' memory, history, the notification
//! outbox and retention: the same tests on a SQLite file and on a PostgreSQL database of the test's own (see
//! `backends`; without a server the PostgreSQL half says so and passes, unless `CI` is set).

mod backends;

#[path = "stores/both.rs"]
mod both;

#[path = "stores/audit.rs"]
mod audit;
#[path = "stores/auth.rs"]
mod auth;
#[path = "stores/collect.rs"]
mod collect;
#[path = "stores/history.rs"]
mod history;
#[path = "stores/outbox.rs"]
mod outbox;
#[path = "stores/retention.rs"]
mod retention;
#[path = "stores/sessions.rs"]
mod sessions;
