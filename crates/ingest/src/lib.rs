//! Parsers from bytes to domain types: NDJSON operations, MDM's metadata and timestamps, log
//! lines. Pure and fuzzable: no I/O beyond the readers they are given.
#![forbid(unsafe_code)]

pub mod bench;
pub mod logline;
pub mod mdm;
pub mod operations;
