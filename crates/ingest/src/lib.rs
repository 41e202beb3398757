//! Parsers from bytes to domain types: NDJSON operations, JUnit XML, benchmark files (hyperfine,
//! Criterion, CSV), MDM's metadata and timestamps, log lines. Each parser is a pure function of
//! its input (bytes or a reader) and fuzzable; only `bench::read` opens files, since a Criterion
//! result is a folder.
#![forbid(unsafe_code)]

pub mod bench;
pub mod chunks;
pub mod junit;
pub mod logline;
pub mod mdm;
pub mod operations;
pub mod records;
pub mod samples;
