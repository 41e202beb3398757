//! One module per command.

pub mod ingest;
pub mod record;
pub mod stats;
