//! One module per command.

pub mod ingest;
pub mod logs;
pub mod record;
pub mod stats;
