//! Parsers from bytes to domain types: NDJSON operations, JUnit XML, benchmark files, MDM's
//! metadata and timestamps, log
//! lines. Pure and fuzzable: no I/O beyond the readers they are given.
#![forbid(unsafe_code)]

pub mod bench;
pub mod junit;
pub mod logline;
pub mod mdm;
pub mod operations;
